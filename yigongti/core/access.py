"""Access scope: the one place that decides which rows a user may see and change.

Every selector asks ``scope_for(user)`` and filters through it (NetBox's RestrictedQuerySet idea,
kept as plain functions). A user acts through one *active membership* (user x institution x role)
at a time; the web session remembers which, and API tokens use the user's first active one.

Who sees what:

- consortium office: every institution of its consortium and the external hospitals; residents
  only as aggregates (no personal rows), except the two records of a possible duplicate it
  reviews as the master index's steward (``patients.matching.selectors``, audited).
- county health bureau: every consortium of its county, read-only, aggregates only.
- county-level staff (doctors, nurses, pharmacists, dispatchers at a county hospital): their
  own institution; when registering a patient, the masked likely matches; personal rows arrive
  later through referrals and shared centres.
- township staff: their centre and its village clinics, and the residents of those villages.
- village doctor: her clinic and its residents.
- resident: only themself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from yigongti.accounts.choices import READ_ONLY_ROLES, Role
from yigongti.institutions.choices import InstitutionKind, Level

from .errors import Forbidden

if TYPE_CHECKING:
    from yigongti.accounts.models import Membership


@dataclass(frozen=True)
class Scope:
    """What one membership may see. ``institution_ids`` is the full, explicit set."""

    user_id: int | None
    membership: Membership | None
    role: str
    institution_ids: frozenset[int]
    resident_village_ids: frozenset[int]
    self_patient_only: bool
    consortium_id: int | None

    @property
    def can_write(self) -> bool:
        return self.membership is not None and self.role not in READ_ONLY_ROLES

    @property
    def manages_consortium(self) -> bool:
        """The consortium office: the one role that changes institutions, staff and accounts."""
        return self.can_write and self.role == Role.CONSORTIUM_OFFICE

    @property
    def is_oversight(self) -> bool:
        return self.role in (Role.CONSORTIUM_OFFICE, Role.HEALTH_BUREAU)

    def sees_institution(self, institution_id: int) -> bool:
        return institution_id in self.institution_ids

    def require(self, condition: bool, message: Any = None) -> None:
        if not condition:
            raise Forbidden(message or _("Your role may not do this."))

    def require_write(self) -> None:
        self.require(self.can_write, _("Your role may only read."))


EMPTY = Scope(None, None, "", frozenset(), frozenset(), False, None)


def active_membership(user: Any, membership_id: int | None = None) -> Membership | None:
    """The membership a user acts in: the requested one if it is theirs and active, else the first."""
    from yigongti.accounts.models import Membership

    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    qs = Membership.objects.filter(user=user, is_active=True).select_related("institution")
    if membership_id is not None:
        chosen = qs.filter(pk=membership_id).first()
        if chosen is not None:
            return chosen
    return qs.order_by("id").first()


def _ids(qs: QuerySet[Any]) -> frozenset[int]:
    return frozenset(qs.values_list("id", flat=True))


def scope_for(user: Any, membership: Membership | None = None) -> Scope:
    """Compute the scope of ``membership`` (default: the user's active one)."""
    from yigongti.institutions.models import Institution

    membership = membership or getattr(user, "_ygt_membership", None) or active_membership(user)
    if (
        membership is None
        or not membership.is_active
        or user is None
        or not getattr(user, "is_active", False)
        or membership.user_id != user.pk
    ):
        return EMPTY
    inst = membership.institution
    role = membership.role
    institutions = Institution.objects.all()
    villages: frozenset[int] = frozenset()
    if role == Role.CONSORTIUM_OFFICE:
        ids = _ids(institutions.filter(Q(consortium_id=inst.consortium_id) | Q(level=Level.EXTERNAL)))
    elif role == Role.HEALTH_BUREAU:
        ids = _ids(institutions.filter(Q(area_code=inst.area_code) | Q(level=Level.EXTERNAL)))
    elif role == Role.RESIDENT:
        ids = frozenset()
    elif inst.kind == InstitutionKind.TOWNSHIP_CENTRE:
        ids = frozenset({inst.pk}) | _ids(institutions.filter(parent_id=inst.pk))
        villages = ids
    elif inst.kind == InstitutionKind.VILLAGE_CLINIC:
        ids = frozenset({inst.pk})
        villages = ids
    else:
        ids = frozenset({inst.pk})
    return Scope(
        user_id=user.pk,
        membership=membership,
        role=role,
        institution_ids=ids,
        resident_village_ids=villages,
        self_patient_only=role == Role.RESIDENT,
        consortium_id=inst.consortium_id,
    )


def filter_institutions(qs: QuerySet[Any], scope: Scope, field: str = "pk") -> QuerySet[Any]:
    """Rows whose institution (``field``) is in scope."""
    if not scope.institution_ids:
        return qs.none()
    return qs.filter(**{f"{field}__in": scope.institution_ids})


def filter_residents(qs: QuerySet[Any], scope: Scope, village_field: str = "village") -> QuerySet[Any]:
    """Personal rows of residents the scope may read (own villages, or oneself)."""
    if scope.self_patient_only:
        return qs.filter(user_id=scope.user_id) if scope.user_id else qs.none()
    if not scope.resident_village_ids:
        return qs.none()
    return qs.filter(**{f"{village_field}_id__in": scope.resident_village_ids})


def request_scope(request: Any) -> Scope:
    """The scope of a request's user in its active membership, computed once per request."""
    cached = getattr(request, "_ygt_scope", None)
    if cached is None:
        cached = scope_for(request.user, getattr(request, "membership", None))
        request._ygt_scope = cached
    return cached
