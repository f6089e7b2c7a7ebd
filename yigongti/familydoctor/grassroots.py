"""What this app tells the referrals app (registered in ``FamilydoctorConfig.ready()``):

- the grassroots doctor of a contracted resident is the team's family doctor, at her own
  institution (a village doctor's clinic or the township centre);
- a family doctor, and every member of the team, sees the referrals of the team's contracted
  residents, wherever they were referred.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from yigongti.core.access import Scope
from yigongti.institutions.models import Institution, Staff

from .choices import ContractStatus, TeamRole
from .models import Contract, TeamMember


def resolve(patient: Any) -> tuple[Institution, Staff | None] | None:
    contract = (
        Contract.objects.filter(patient_id=patient.pk, status=ContractStatus.ACTIVE)
        .select_related("team")
        .first()
    )
    if contract is None:
        return None
    doctor = (
        TeamMember.objects.filter(team_id=contract.team_id, role=TeamRole.FAMILY_DOCTOR)
        .select_related("staff__institution")
        .first()
    )
    if doctor is None:
        return (contract.team.institution, None)
    return (doctor.staff.institution, doctor.staff)


def visibility(scope: Scope) -> Q | None:
    if scope.user_id is None or scope.self_patient_only or scope.membership is None:
        return None
    teams = TeamMember.objects.filter(staff__user_id=scope.user_id).values("team_id")
    patients = Contract.objects.filter(team_id__in=teams, status=ContractStatus.ACTIVE).values("patient_id")
    return Q(patient_id__in=patients)
