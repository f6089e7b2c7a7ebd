"""Production settings: secrets from the environment, HTTPS cookies, static files collected."""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *

DEBUG = False
if not os.environ.get("YGT_SECRET_KEY"):
    raise ImproperlyConfigured("YGT_SECRET_KEY must be set in production")
SECRET_KEY = os.environ["YGT_SECRET_KEY"]
SESSION_COOKIE_SECURE = os.environ.get("YGT_HTTPS", "1") == "1"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = 31536000 if SESSION_COOKIE_SECURE else 0
WHITENOISE_USE_FINDERS = False
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
