"""The family-doctor API's In/Out schemas."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Field, Schema
from pydantic import ConfigDict

from yigongti.core.api import (
    InSchema,
    PageIn,
    PageOut,
)

from ..choices import ContractStatus, PackageKind, PriorityGroup, TeamRole


class _In(InSchema):
    model_config = ConfigDict(extra="forbid")


# --- schemas ----------------------------------------------------------------------------------


class MemberIn(_In):
    staff_id: int
    role: TeamRole


class TeamIn(_In):
    code: str = Field(..., min_length=1, max_length=20)
    name: str = Field(..., min_length=1, max_length=60)
    institution: str = Field(..., max_length=12, description="Code of the township centre or village clinic")
    villages: list[str] = Field(..., max_length=100, description="Codes of the village clinics served")
    members: list[MemberIn] = Field(..., max_length=20)


class TeamUpdateIn(_In):
    name: str = Field(..., min_length=1, max_length=60)
    villages: list[str] = Field(..., max_length=100)
    members: list[MemberIn] = Field(..., max_length=20)
    is_active: bool = True


class MemberOut(Schema):
    staff_id: int
    name: str
    role: str
    institution: str


class FulfilmentOut(Schema):
    due: int
    done: int
    rate: float | None


class TeamOut(Schema):
    id: int
    code: str
    name: str
    institution: str
    villages: list[str]
    members: list[MemberOut]
    is_active: bool
    active_contracts: int
    priority_contracts: int
    fulfilment: FulfilmentOut


class ItemIn(_In):
    name: str = Field(..., min_length=1, max_length=80)
    times_per_year: int = Field(..., ge=1, le=52)
    is_home_visit: bool = False


class PackageIn(_In):
    code: str = Field(..., min_length=1, max_length=20)
    name: str = Field(..., min_length=1, max_length=60)
    kind: PackageKind
    target_group: PriorityGroup | None = None
    price: Decimal = Field(..., ge=0, le=100000, max_digits=8, decimal_places=2)
    insurance_share: Decimal = Field(Decimal("0"), ge=0, le=100000, max_digits=8, decimal_places=2)
    description: str = Field("", max_length=300)
    items: list[ItemIn] = Field(default_factory=list, max_length=40)


class PackageUpdateIn(_In):
    name: str = Field(..., min_length=1, max_length=60)
    price: Decimal = Field(..., ge=0, le=100000, max_digits=8, decimal_places=2)
    insurance_share: Decimal = Field(..., ge=0, le=100000, max_digits=8, decimal_places=2)
    description: str = Field("", max_length=300)
    is_active: bool = True


class ItemOut(Schema):
    id: int
    name: str
    times_per_year: int
    is_home_visit: bool


class PackageOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    target_group: str
    price: Decimal
    insurance_share: Decimal
    resident_pays: Decimal
    description: str
    is_active: bool
    items: list[ItemOut]


class ContractIn(_In):
    patient_id: int
    team_id: int
    packages: list[str] = Field(..., max_length=20, description="Package codes; the basic one is required")
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    groups: list[PriorityGroup] = Field(default_factory=list, max_length=9)


class ConfirmIn(_In):
    paper_signature: bool = False


class ReasonIn(_In):
    reason: str = Field("", max_length=200)


class GroupsIn(_In):
    groups: list[str] = Field(default_factory=list, max_length=9)


class RenewIn(_In):
    team_id: int | None = None
    packages: list[str] | None = Field(None, max_length=20)
    end_date: dt.date | None = None


class ContractRow(Schema):
    id: int
    number: str
    status: str
    status_label: str
    channel: str
    patient_id: int
    patient_name: str
    patient_id_number: str
    village: str
    team_id: int
    team: str
    start_date: dt.date
    end_date: dt.date
    priority_groups: list[str]
    fee: Decimal
    resident_fee: Decimal


class ContractPage(PageOut[ContractRow]):
    pass


class TaskOut(Schema):
    id: int
    contract_id: int
    patient_name: str
    item: str
    due_on: dt.date
    status: str
    overdue: bool
    done_on: dt.date | None
    result: str


class ContractDetail(ContractRow):
    packages: list[str]
    paper_signature: bool
    confirmed_on: dt.date | None
    ended_on: dt.date | None
    end_reason: str
    previous_id: int | None
    fulfilment: FulfilmentOut
    tasks: list[TaskOut]


class ContractFilter(PageIn):
    team: int | None = None
    village: str = Field("", max_length=12)
    status: ContractStatus | None = None
    group: PriorityGroup | None = None
    expiring: bool = False
    q: str = Field("", max_length=40)


class TaskFilter(PageIn):
    window: str = Field("week", pattern="^(week|overdue)$")
    team: int | None = None


class TaskPage(PageOut[TaskOut]):
    pass


class RecordIn(_In):
    done_on: dt.date | None = None
    result: str = Field("", max_length=300)


class VisitIn(_In):
    contract_id: int
    scheduled_on: dt.date
    purpose: str = Field(..., min_length=1, max_length=200)
    home_bed_id: int | None = None


class VisitRecordIn(_In):
    done_on: dt.date | None = None
    note: str = Field("", max_length=300)
    missed: bool = False


class VisitOut(Schema):
    id: int
    contract_id: int
    patient_name: str
    team: str
    scheduled_on: dt.date
    purpose: str
    status: str
    done_on: dt.date | None
    note: str
    home_bed_id: int | None


class VisitPage(PageOut[VisitOut]):
    pass


class ListFilter(PageIn):
    status: str = Field("", max_length=12)
    team: int | None = None


class BedIn(_In):
    contract_id: int
    admitted_on: dt.date
    reason: str = Field(..., min_length=1, max_length=200)


class DischargeIn(_In):
    discharged_on: dt.date | None = None
    note: str = Field("", max_length=300)


class BedOut(Schema):
    id: int
    contract_id: int
    patient_name: str
    team: str
    admitted_on: dt.date
    discharged_on: dt.date | None
    reason: str
    status: str
    visits_done: int


class BedPage(PageOut[BedOut]):
    pass


class MonthOut(Schema):
    team_id: int
    team: str
    month: dt.date
    visits: int
    beds: int
