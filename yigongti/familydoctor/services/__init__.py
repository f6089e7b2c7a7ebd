"""Every write of the family-doctor app: teams and packages (the consortium office), contracts
and their state machine, fulfilment tasks, home visits and home beds (the team's township).

Each service is atomic, checks the actor's role and scope, validates, writes, appends an audit
row and sends ``signals.familydoctor_changed`` with the cells it touched. ``actor=None`` is the
system (the demo generator). The package splits the services by subject; import them from here.
"""

from __future__ import annotations

from .care import (
    home_bed_discharge,
    home_bed_open,
    home_visit_record,
    home_visit_schedule,
    task_record,
)
from .common import (
    DOCTOR_PROFESSIONS,
    MAX_TERM_YEARS,
    RENEWAL_WINDOW_DAYS,
    add_years,
    contract_keys,
    forbid_oversight,
    today,
)
from .contracts import (
    contract_cancel,
    contract_confirm,
    contract_expire,
    contract_groups_follow,
    contract_groups_update,
    contract_renew,
    contract_sign,
    contract_terminate,
    due_dates,
    plan_tasks,
)
from .teams import package_create, package_item_add, package_update, team_create, team_update

__all__ = [
    "DOCTOR_PROFESSIONS",
    "MAX_TERM_YEARS",
    "RENEWAL_WINDOW_DAYS",
    "add_years",
    "contract_cancel",
    "contract_confirm",
    "contract_expire",
    "contract_groups_follow",
    "contract_groups_update",
    "contract_keys",
    "contract_renew",
    "contract_sign",
    "contract_terminate",
    "due_dates",
    "forbid_oversight",
    "home_bed_discharge",
    "home_bed_open",
    "home_visit_record",
    "home_visit_schedule",
    "package_create",
    "package_item_add",
    "package_update",
    "plan_tasks",
    "task_record",
    "team_create",
    "team_update",
    "today",
]
