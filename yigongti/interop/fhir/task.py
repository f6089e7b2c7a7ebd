"""``PUT Task/{id}``: a hospital system moves a referral through its workflow.

The Task *is* the referral, so an update is a request for one move of the referral's state
machine (``referrals.choices.TRANSITIONS``), performed by the referral services as the token's
user: they check who may make the move (the receiving institution accepts, the referring one
submits, either cancels) exactly as for the pages and ``/api/referrals``, and write the audit
rows. The facade only works out which move is asked for:

- ``Task.status`` names the FHIR workflow status; where one FHIR status covers several of our
  states (``in-progress`` is arrived or in care, ``completed`` is completed or followed up),
  ``businessStatus`` (our own code) picks the finer one;
- the move's inputs come from the elements FHIR has for them: the reason of a rejection or a
  cancellation from ``statusReason`` (or ``note``), the care mode from ``input``, the return
  slip from ``output``, the follow-up finding from ``note``.

Every other element is ours: one sent with a different value is refused (422, naming it), one
left out is kept. A move the state machine does not allow is a 409.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from yigongti.core.errors import DomainError
from yigongti.referrals import lookups
from yigongti.referrals import services as referrals
from yigongti.referrals.choices import TRANSITIONS, Status, can_move

from .base import YGT, Ctx, ResourceType, Written
from .outcome import ISSUE_OF_DOMAIN, FhirError, Issue
from .validate import validate_structure

STATUS_SYSTEM = f"{YGT}/CodeSystem/referral-status"
PARAMETER_SYSTEM = f"{YGT}/CodeSystem/task-parameter"
ICD10 = "http://hl7.org/fhir/sid/icd-10"

#: Every code of the R4 TaskStatus value set.
FHIR_TASK_STATUSES = frozenset(
    {
        "draft", "requested", "received", "accepted", "rejected", "ready", "cancelled",
        "in-progress", "on-hold", "failed", "completed", "entered-in-error",
    }
)  # fmt: skip
#: The state a FHIR status asks for when ``businessStatus`` does not name a finer one.
TARGET_OF_STATUS = {
    "draft": Status.DRAFT,
    "requested": Status.SUBMITTED,
    "accepted": Status.ACCEPTED,
    "rejected": Status.REJECTED,
    "in-progress": Status.ARRIVED,
    "completed": Status.COMPLETED,
    "cancelled": Status.CANCELLED,
}
#: The elements each move reads its inputs from (they may differ from the stored Task).
CONSUMED: dict[str, frozenset[str]] = {
    Status.REJECTED: frozenset({"statusReason", "note"}),
    Status.CANCELLED: frozenset({"statusReason", "note"}),
    Status.IN_CARE: frozenset({"input"}),
    Status.COMPLETED: frozenset({"output"}),
    Status.FOLLOWED_UP: frozenset({"note"}),
}
#: Elements the server keeps up to date, whatever the client sends.
SERVER_MANAGED = frozenset({"resourceType", "id", "meta", "text", "lastModified"})
#: Where a service's field lives in the Task.
ELEMENT_OF_FIELD = {
    "reason": "Task.statusReason",
    "mode": "Task.input",
    "diagnosis_code": "Task.output",
    "diagnosis_name": "Task.output",
    "advice": "Task.output",
    "results": "Task.output",
    "treatment": "Task.output",
    "note": "Task.note",
}
OUTPUTS = ("return-diagnosis", "results", "treatment", "advice")


def task_status(state: str) -> str:
    from .referral import TASK_STATUS

    return TASK_STATUS.get(state, "requested")


def _label(state: str) -> str:
    return str(Status(state).label)


def _allowed_text(current: str) -> str:
    moves = sorted(TRANSITIONS.get(current, frozenset()) - {Status.REDIRECTED})
    if not moves:
        return _("none (the referral is closed)")
    return ", ".join(f"{task_status(s)} ({s})" for s in moves)


def _conflict(current: str, target: str) -> FhirError:
    return FhirError(
        409,
        "business-rule",
        _(
            "A referral that is %(current)s cannot become %(target)s. The Task may move from "
            "%(status)s (%(state)s) to: %(allowed)s."
        )
        % {
            "current": _label(current),
            "target": _label(target),
            "status": task_status(current),
            "state": current,
            "allowed": _allowed_text(current),
        },
        expression="Task.status",
    )


def _business_code(resource: dict[str, Any]) -> str | None:
    business = resource.get("businessStatus")
    if business is None:
        return None
    codes = [c.get("code") for c in business.get("coding") or [] if c.get("system") == STATUS_SYSTEM]
    if not codes or not isinstance(codes[0], str):
        raise FhirError(
            422,
            "value",
            _("businessStatus needs a coding of %(system)s (our referral state).")
            % {"system": STATUS_SYSTEM},
            expression="Task.businessStatus",
        )
    return codes[0]


def target_of(current: str, resource: dict[str, Any]) -> str:
    """The referral state the client asks for (``current`` when it asks for no move)."""
    status = resource.get("status")
    if status not in FHIR_TASK_STATUSES:
        raise FhirError(
            422,
            "value",
            _("%(value)s is not a FHIR Task status.") % {"value": str(status)[:40]},
            expression="Task.status",
        )
    business = _business_code(resource)
    if business is not None and business != current:
        if business not in Status.values:
            raise FhirError(
                422,
                "value",
                _("%(value)s is not one of our referral states.") % {"value": business[:40]},
                expression="Task.businessStatus",
            )
        if task_status(business) != status:
            raise FhirError(
                422,
                "business-rule",
                _("The businessStatus %(business)s goes with the status %(expected)s, not %(status)s.")
                % {"business": business, "expected": task_status(business), "status": status},
                expression="Task.businessStatus",
            )
        if business == Status.REDIRECTED:
            raise FhirError(
                422,
                "not-supported",
                _("Redirect a referral in the referral pages or through /api/referrals, not through FHIR."),
                expression="Task.businessStatus",
            )
        return business
    if status == task_status(current):
        return current
    target = TARGET_OF_STATUS.get(str(status))
    if target is None:
        raise FhirError(
            409,
            "business-rule",
            _(
                "Referrals do not use the Task status %(status)s. The Task may move from "
                "%(current)s to: %(allowed)s."
            )
            % {"status": status, "current": task_status(current), "allowed": _allowed_text(current)},
            expression="Task.status",
        )
    return target


def _plain(value: Any) -> Any:
    """A value without its ``display`` texts (they follow the reader's language)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "display"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def refuse_changes(resource: dict[str, Any], current: dict[str, Any], consumed: frozenset[str]) -> None:
    """Refuse, naming each, the elements sent with a value other than the stored Task's."""
    skip = SERVER_MANAGED | {"status", "businessStatus"} | consumed
    bad = sorted(
        key.lstrip("_")
        for key, value in resource.items()
        if key not in skip and _plain(value) != _plain(current.get(key))
    )
    if bad:
        names = [f"Task.{name}" for name in dict.fromkeys(bad)]
        raise FhirError(
            422,
            "not-supported",
            _("Only Task.status (with the inputs of the move) may change; these elements differ: %(names)s.")
            % {"names": ", ".join(names)},
            issues=[
                Issue(
                    "error",
                    "not-supported",
                    _("The element %(name)s may not be changed here.") % {"name": name},
                    [name],
                )
                for name in names
            ],
        )


def _text_of(concept: Any) -> str:
    if not isinstance(concept, dict):
        return ""
    if concept.get("text"):
        return str(concept["text"])
    for c in concept.get("coding") or []:
        if c.get("display") or c.get("code"):
            return str(c.get("display") or c.get("code"))
    return ""


def _note(resource: dict[str, Any]) -> str:
    return "\n".join(str(n.get("text") or "") for n in resource.get("note") or [] if n.get("text"))


def _reason(resource: dict[str, Any]) -> str:
    return _text_of(resource.get("statusReason")) or _note(resource)


def _parameters(resource: dict[str, Any], element: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    """``input`` or ``output`` as {our parameter code: the element}, refusing unknown ones."""
    found: dict[str, Any] = {}
    for i, item in enumerate(resource.get(element) or []):
        codes = [
            c.get("code")
            for c in (item.get("type") or {}).get("coding") or []
            if c.get("system") == PARAMETER_SYSTEM
        ]
        code = codes[0] if codes else None
        if code not in allowed:
            raise FhirError(
                422,
                "not-supported",
                _("Task.%(element)s takes only these types (system %(system)s): %(codes)s.")
                % {"element": element, "system": PARAMETER_SYSTEM, "codes": ", ".join(allowed)},
                expression=f"Task.{element}[{i}].type",
            )
        found[code] = item
    return found


def care_mode(resource: dict[str, Any]) -> str:
    item = _parameters(resource, "input", ("care-mode",)).get("care-mode") or {}
    value = item.get("valueCode") or item.get("valueString") or (item.get("valueCoding") or {}).get("code")
    return str(value or "")


def return_slip(resource: dict[str, Any]) -> dict[str, str]:
    items = _parameters(resource, "output", OUTPUTS)
    concept = (items.get("return-diagnosis") or {}).get("valueCodeableConcept") or {}
    icd = [c for c in concept.get("coding") or [] if c.get("system") == ICD10]
    return {
        "diagnosis_code": str((icd[0].get("code") if icd else "") or ""),
        "diagnosis_name": str(concept.get("text") or (icd[0].get("display") if icd else "") or ""),
        **{
            key: str((items.get(key) or {}).get("valueString") or "")
            for key in ("results", "treatment", "advice")
        },
    }


def _perform(ctx: Ctx, referral: Any, target: str, resource: dict[str, Any]) -> None:
    actor = ctx.user
    if target == Status.SUBMITTED:
        referrals.referral_submit(actor=actor, referral=referral)
    elif target == Status.ACCEPTED:
        referrals.referral_accept(actor=actor, referral=referral)
    elif target == Status.REJECTED:
        referrals.referral_reject(actor=actor, referral=referral, reason=_reason(resource))
    elif target == Status.ARRIVED:
        referrals.referral_arrive(actor=actor, referral=referral)
    elif target == Status.IN_CARE:
        referrals.referral_start_care(actor=actor, referral=referral, mode=care_mode(resource))
    elif target == Status.COMPLETED:
        slip = return_slip(resource)
        referrals.referral_complete(
            actor=actor,
            referral=referral,
            diagnosis_code=slip["diagnosis_code"],
            diagnosis_name=slip["diagnosis_name"],
            results=slip["results"],
            treatment=slip["treatment"],
            advice=slip["advice"],
        )
    elif target == Status.FOLLOWED_UP:
        task = lookups.open_task(referral)
        if task is None:
            raise FhirError(409, "business-rule", _("This referral has no open follow-up task."))
        referrals.follow_up_record(actor=actor, task=task, note=_note(resource))
    elif target == Status.CANCELLED:
        referrals.referral_cancel(actor=actor, referral=referral, reason=_reason(resource))
    else:  # DRAFT: no move leads back to it; can_move refused it already
        raise _conflict(referral.status, target)


def _from_domain(exc: DomainError, resource: dict[str, Any]) -> FhirError:
    element = ELEMENT_OF_FIELD.get(exc.field or "", "")
    if exc.field == "reason" and not resource.get("statusReason") and resource.get("note"):
        element = "Task.note"
    return FhirError(
        exc.status,
        ISSUE_OF_DOMAIN.get(exc.code, "invalid"),
        str(exc.message),
        expression=[element] if element else None,
    )


def update(mapper: ResourceType, ctx: Ctx, resource_id: str, resource: dict[str, Any]) -> Written:
    """One move of the referral, or none when the Task asks for its present state."""
    validate_structure(resource, "Task")
    row = mapper.get(ctx, resource_id)
    current = row.status
    target = target_of(current, resource)
    refuse_changes(
        resource,
        mapper.to_fhir(row, ctx),
        CONSUMED.get(target, frozenset()) if target != current else frozenset(),
    )
    if target == current:
        text = _("The Task already has this status; nothing changed.")
        return Written(row=row, created=False, issues=[Issue("information", "informational", text)])
    if not can_move(current, target):
        raise _conflict(current, target)
    try:
        _perform(ctx, row, target, resource)
    except DomainError as exc:
        if exc.code == "illegal_transition" or exc.status == 409:
            raise FhirError(409, "business-rule", str(exc.message), expression="Task.status") from None
        raise _from_domain(exc, resource) from None
    fresh = mapper.queryset(ctx).filter(pk=row.pk).first()
    if fresh is None:  # none of these moves changes who sees the referral; refuse, rolled back
        raise FhirError(
            409, "business-rule", _("This move would take the referral out of your scope; nothing changed.")
        )
    text = _("The referral is now %(state)s.") % {"state": _label(fresh.status)}
    return Written(row=fresh, created=False, issues=[Issue("information", "informational", text)])
