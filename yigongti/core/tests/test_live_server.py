"""The live test server answers a page's assets fetched at once, as a browser fetches them.

Every request of a signed-in user saves the session (``SESSION_SAVE_EVERY_REQUEST``). On the
in-memory SQLite test database all the live server's threads share one connection, and two
interleaved session saves failed with "no such savepoint": the asset came back as an error page.
The root ``conftest.OneConnectionLiveServer`` serialises the application call in that case.
"""

from __future__ import annotations

import urllib.request
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.urls import reverse

from yigongti.accounts.choices import Role


def test_concurrent_asset_requests_of_a_signed_in_user_all_succeed(live_server, county, client):
    client.force_login(county.users[Role.CONSORTIUM_OFFICE])
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    url = live_server.url + reverse("indicators:plotly_css")

    def fetch(_: int) -> tuple[int, str]:
        request = urllib.request.Request(url, headers={"Cookie": cookie})  # noqa: S310 - the live server's http URL
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.headers["Content-Type"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(fetch, range(64)))
    assert answers == [(200, "text/css; charset=utf-8")] * 64
