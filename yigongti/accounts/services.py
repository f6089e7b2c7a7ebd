"""Writes for users, memberships, tokens and login throttling. Each audits itself."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from yigongti.core.access import scope_for
from yigongti.core.audit import audit, snapshot
from yigongti.core.errors import Conflict, InvalidInput, Throttled

from .choices import ROLE_INSTITUTION_KINDS, Role
from .models import ApiToken, LoginThrottle, Membership, User

TOKEN_PREFIX = "ygt_"  # noqa: S105 - a public prefix, not a secret


def _require_office(actor: Any) -> None:
    """Accounts are managed by the consortium office (or by the system when actor is None)."""
    if actor is None:
        return
    scope = scope_for(actor)
    scope.require(scope.manages_consortium, _("Only the consortium office manages accounts."))


@transaction.atomic
def user_create(
    *,
    actor: Any,
    username: str,
    password: str | None,
    full_name: str = "",
    phone: str = "",
    check_password: bool = True,
) -> User:
    """Create a login. ``password=None`` makes an account that cannot log in with a password."""
    _require_office(actor)
    username = username.strip()
    if not username:
        raise InvalidInput(_("A username is required."), field="username")
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(_("This username is taken."), field="username")
    user = User(username=username, full_name=full_name.strip(), phone=phone.strip())
    if password is None:
        user.set_unusable_password()
    else:
        if check_password:
            try:
                validate_password(password, user)
            except ValidationError as exc:
                raise InvalidInput(" ".join(exc.messages), field="password") from None
        user.set_password(password)
    user.save()
    audit(actor=actor, verb="user.create", subject=user, after=snapshot(user, ["username", "full_name"]))
    return user


@transaction.atomic
def membership_grant(*, actor: Any, user: User, institution: Any, role: str) -> Membership:
    """Give ``user`` a role at ``institution``; the role must fit the institution's kind."""
    _require_office(actor)
    if role not in Role.values:
        raise InvalidInput(_("Unknown role."), field="role")
    if institution.kind not in ROLE_INSTITUTION_KINDS[role]:
        raise InvalidInput(_("This role cannot be held at this kind of institution."), field="role")
    try:
        with transaction.atomic():
            membership = Membership.objects.create(user=user, institution=institution, role=role)
    except IntegrityError:
        raise Conflict(_("The user already holds this role at this institution."), field="role") from None
    audit(actor=actor, verb="membership.grant", subject=membership, after=snapshot(membership))
    return membership


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@transaction.atomic
def token_create(*, actor: Any, user: User, name: str = "") -> tuple[ApiToken, str]:
    """A new bearer token; the plain token is returned once and only its hash is stored."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name[:100], prefix=raw[:12], key_hash=_hash_token(raw))
    audit(actor=actor, verb="token.create", subject=token, after={"user_id": user.pk, "prefix": token.prefix})
    return token, raw


@transaction.atomic
def token_revoke(*, actor: Any, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at", "updated_at"])
        audit(actor=actor, verb="token.revoke", subject=token, after={"prefix": token.prefix})
    return token


def token_authenticate(raw: str) -> User | None:
    """The active user behind a bearer token, or None. Marks the token used at most once a minute."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_hash_token(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


# --- login throttling -------------------------------------------------------------------------


def _throttle_keys(username: str, ip: str | None) -> list[str]:
    address = ip or "unknown"
    return [f"user:{username.strip().lower()[:150]}|ip:{address}", f"ip:{address}"]


def _delay_for(failures: int, free: int) -> int:
    """Seconds to wait after ``failures`` failures: none for the first ``free``, then doubling."""
    if failures < free:
        return 0
    return int(min(2 ** (failures - free), settings.LOGIN_MAX_DELAY_SECONDS))


def login_check(username: str, ip: str | None) -> None:
    """Raise Throttled while this username from this address (or this address) must wait."""
    now = timezone.now()
    for row in LoginThrottle.objects.filter(key__in=_throttle_keys(username, ip)):
        if row.blocked_until and row.blocked_until > now:
            seconds = max(1, int((row.blocked_until - now).total_seconds() + 0.999))
            raise Throttled(
                ngettext(
                    "Too many failed attempts. Please wait %(n)d second and try again.",
                    "Too many failed attempts. Please wait %(n)d seconds and try again.",
                    seconds,
                )
                % {"n": seconds}
            )


@transaction.atomic
def login_failed(username: str, ip: str | None) -> None:
    """Count a failure per (username, address) and per address; the address allows many more."""
    now = timezone.now()
    window = dt.timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    pair_key, ip_key = _throttle_keys(username, ip)
    for key, free in (
        (pair_key, settings.LOGIN_FREE_FAILURES),
        (ip_key, settings.LOGIN_FREE_FAILURES_PER_ADDRESS),
    ):
        row, _created = LoginThrottle.objects.select_for_update().get_or_create(
            key=key, defaults={"last_failure_at": now}
        )
        if now - row.last_failure_at > window:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        delay = _delay_for(row.failures, free)
        row.blocked_until = now + dt.timedelta(seconds=delay) if delay else None
        row.save()
    user = User.objects.filter(username__iexact=username.strip()).first()
    audit(
        actor=None,
        verb="auth.login_failed",
        object_type="accounts.user",
        object_id=user.pk if user else "",
        after={"username": username[:150]},
    )


@transaction.atomic
def login_succeeded(user: User, ip: str | None, membership: Membership | None) -> None:
    """Clear this (username, address) pair's failures; the address counter decays on its own."""
    LoginThrottle.objects.filter(key=_throttle_keys(user.username, ip)[0]).delete()
    audit(actor=user, verb="auth.login", subject=user, membership=membership)


@transaction.atomic
def logged_out(user: Any, membership: Membership | None) -> None:
    if getattr(user, "is_authenticated", False):
        audit(actor=user, verb="auth.logout", subject=user, membership=membership)
