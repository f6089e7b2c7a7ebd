"""Fixtures of the interop tests: API tokens per role and a FHIR client over Django's test client."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from yigongti.accounts.services import token_create


class Fhir:
    """Django's test client speaking FHIR JSON with a Bearer token."""

    def __init__(self, token: str | None, language: str = "en") -> None:
        self.client = Client(raise_request_exception=False)
        self.headers: dict[str, Any] = {"HTTP_ACCEPT_LANGUAGE": language}
        if token:
            self.headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"

    def get(self, url: str, **extra: Any) -> Any:
        return self.client.get(url, **self.headers, **extra)

    def post(self, url: str, body: Any, content_type: str = "application/fhir+json", **extra: Any) -> Any:
        data = body if isinstance(body, (str, bytes)) else json.dumps(body, ensure_ascii=False)
        return self.client.post(url, data=data, content_type=content_type, **self.headers, **extra)

    def put(self, url: str, body: Any, **extra: Any) -> Any:
        return self.client.put(
            url, data=json.dumps(body), content_type="application/fhir+json", **self.headers, **extra
        )

    def delete(self, url: str) -> Any:
        return self.client.delete(url, **self.headers)


@pytest.fixture
def tokens(county) -> dict[str, str]:
    return {role: token_create(actor=None, user=user, name="test")[1] for role, user in county.users.items()}


@pytest.fixture
def fhir(tokens):
    """``fhir(role)``: a FHIR client acting as that role's user (None: no token)."""

    def make(role: str | None, language: str = "en") -> Fhir:
        return Fhir(tokens[role] if role else None, language)

    return make
