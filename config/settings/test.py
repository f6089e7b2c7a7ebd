"""Settings for the test suite: the same stack, faster hashing, no throttling surprises."""

from .base import *

DEBUG = False
# Argon2 stays first in production; tests hash hundreds of passwords, so use a fast hasher here.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LANGUAGE_CODE = "zh-hans"
