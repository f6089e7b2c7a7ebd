"""Settings shared by every environment.

The database comes from ``DATABASE_URL``; without it Yigongti uses an embedded SQLite file under
``var/`` so that a fresh clone runs with no server at all.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("YGT_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)
(VAR_DIR / "staticfiles").mkdir(exist_ok=True)

DEBUG = os.environ.get("YGT_DEBUG", "0") == "1"
# A development key; production.py refuses to start without YGT_SECRET_KEY.
SECRET_KEY = os.environ.get("YGT_SECRET_KEY", "dev-only-insecure-key-change-me-0123456789abcdefghij")
ALLOWED_HOSTS = [
    h for h in os.environ.get("YGT_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",
    "yigongti.core",
    "yigongti.accounts",
    "yigongti.institutions",
    "yigongti.patients",
    "yigongti.scheduling",
    "yigongti.referrals",
    "yigongti.familydoctor",
    "yigongti.chronic",
    "yigongti.encounters",
    "yigongti.indicators",
    "yigongti.interop",
    "yigongti.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "yigongti.core.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "yigongti.core.middleware.ChineseFirstLocaleMiddleware",
    "yigongti.core.middleware.NullCharacterMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "yigongti.accounts.middleware.SessionLifetimeMiddleware",
    "yigongti.accounts.middleware.ActiveMembershipMiddleware",
    "yigongti.core.middleware.RequestContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "yigongti.accounts.context_processors.membership",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'yigongti.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT: it compiled the indicators' grouped queries for longer than they then ran
    # (2.0 s of a 3.7 s query at 2.5 M encounters) and no query of ours runs long enough to
    # win it back.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers go on while one writer writes; IMMEDIATE takes the write lock at BEGIN
        # so two writers queue instead of failing with "database is locked" half-way.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Sessions: 30 minutes idle (renewed on every request), 12 hours at most after login.
SESSION_COOKIE_AGE = 30 * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_ABSOLUTE_SECONDS = 12 * 3600
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "yigongti.core.views.csrf_failure"

# Login throttling: after LOGIN_FREE_FAILURES failures for one (username, address) each further
# attempt must wait twice as long as the last, capped, so an attacker is slowed down while the
# owner, coming from another address or after the cap, can still log in.
LOGIN_FREE_FAILURES = 5
# The same back-off per address, against one machine trying many usernames. A township centre or
# a county hospital puts hundreds of staff behind one NAT address, and a success does not reset
# the address count, so this allowance is large: typos at a shift change must not slow everyone.
LOGIN_FREE_FAILURES_PER_ADDRESS = 100
LOGIN_MAX_DELAY_SECONDS = 300
LOGIN_FAILURE_WINDOW_SECONDS = 3600

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# No origin but our own: county health networks are intranets and nothing loads from outside.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; object-src 'none'"
)

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

#: Uploaded files (referral attachments...). Never served as static files: views stream them after
#: the same scope check as the row they belong to.
MEDIA_ROOT = VAR_DIR / "media"
MEDIA_URL = "/media/"

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("YGT_LOG_LEVEL", "WARNING")},
}

# The county the demo and area-code checks default to (GB/T 2260: 441823 阳山县).
YGT_DEFAULT_COUNTY_CODE = "441823"
# Connections an indicators rebuild may use at once (0: one per core, at most four).
YGT_INDICATOR_WORKERS = int(os.environ.get("YGT_INDICATOR_WORKERS", "0"))
