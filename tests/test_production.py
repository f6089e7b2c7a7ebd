"""The production settings start, pass Django's deployment checks, and serve pages and hashed
static files through gunicorn — the path a county's server takes, not only the test client's."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

BASE = Path(settings.BASE_DIR)


def _env(var_dir: Path) -> dict[str, str]:
    # Not the test run's own switches: production must pass its checks as deployed.
    dropped = {"DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE", "YGT_DEBUG", "YGT_HTTPS"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        YGT_SECRET_KEY=secrets.token_urlsafe(50),
        YGT_VAR_DIR=str(var_dir),
        DATABASE_URL=f"sqlite:///{var_dir / 'prod.sqlite3'}",
    )
    return env


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, str(BASE / "manage.py"), *args], env=env, capture_output=True, text=True, timeout=180
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = _env(tmp_path)
    del env["YGT_SECRET_KEY"]
    result = _manage(env, "check")
    assert result.returncode != 0
    assert "YGT_SECRET_KEY" in result.stderr


def test_production_checks_collectstatic_and_gunicorn_serve(tmp_path):
    env = _env(tmp_path)
    check = _manage(env, "check", "--deploy", "--fail-level", "ERROR")
    assert check.returncode == 0, check.stderr
    for args in (("migrate", "--noinput"), ("collectstatic", "--noinput")):
        step = _manage(env, *args)
        assert step.returncode == 0, step.stderr
    port = _free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(  # noqa: S603 - the project's own WSGI app on loopback
        [str(gunicorn), "config.wsgi", "-w", "1", "-b", f"127.0.0.1:{port}"],
        cwd=BASE,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        page = b""
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{base}/accounts/login/", timeout=5) as response:  # noqa: S310
                    page = response.read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not answer")
        assert "登录".encode() in page
        css = next(line for line in page.decode().splitlines() if "app." in line and ".css" in line)
        href = css.split('href="', 1)[1].split('"', 1)[0]
        assert href != "/static/css/app.css", "static names should be hashed in production"
        with urllib.request.urlopen(base + href, timeout=5) as response:  # noqa: S310
            assert response.status == 200
            assert "max-age" in response.headers.get("Cache-Control", "")
        request = urllib.request.Request(f"{base}/favicon.ico", method="HEAD")  # noqa: S310
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - follows to the icon
            assert response.status == 200
    finally:
        server.terminate()
        server.wait(timeout=10)
