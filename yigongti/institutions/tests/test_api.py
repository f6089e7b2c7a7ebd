"""The institutions API: each endpoint allowed, denied (bureau, village doctor) and out of scope
(another consortium, a foreign village), with the audit row of every accepted write and no row
for a refused one."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from yigongti.accounts.choices import Role
from yigongti.core import idnumbers
from yigongti.core.models import AuditEvent
from yigongti.institutions import services
from yigongti.institutions.choices import InstitutionKind as K
from yigongti.institutions.models import Department, Institution, Secondment, Staff

pytestmark = pytest.mark.django_db

TABLES = (Institution, Department, Staff, Secondment, AuditEvent)


def _counts() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in TABLES)


def post(c: Client, url: str, data: Any) -> Any:
    return c.post(url, data, content_type="application/json")


def patch(c: Client, url: str, data: Any) -> Any:
    return c.patch(url, data, content_type="application/json")


def assert_error(response: Any, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert body["message"]
    if field is not None:
        assert body["field"] == field
    return body


def assert_refused(
    c: Client, method: str, url: str, data: Any, status: int, code: str, field: str | None = None
):
    """The request is refused as stated and not one row changes."""
    before = _counts()
    response = (post if method == "post" else patch)(c, url, data)
    body = assert_error(response, status, code, field)
    assert _counts() == before
    return body


def last_audit(verb: str) -> AuditEvent:
    return AuditEvent.objects.filter(verb=verb).latest("seq")


@pytest.fixture
def other(county):
    """Another consortium, in the next county: the office of ours must not even see it."""
    c = services.consortium_create(
        actor=None, code="441821001", name="佛冈县医共体", county_code="441821", county_name="佛冈县"
    )
    lead = services.institution_create(
        actor=None, code="441821000001", name="佛冈县人民医院", kind=K.LEAD_HOSPITAL, consortium=c
    )
    town = services.institution_create(
        actor=None, code="441821101000", name="汤塘镇卫生院", kind=K.TOWNSHIP_CENTRE, parent=lead
    )
    dept = services.department_create(
        actor=None, institution=lead, code="NK", name="内科", category="internal_medicine", beds=30
    )
    staff = services.staff_create(
        actor=None, institution=lead, employee_no="F0001", name="周志强", sex="M", profession="physician"
    )
    return SimpleNamespace(consortium=c, lead=lead, township=town, department=dept, staff=staff)


@pytest.fixture
def office(login_client):
    return login_client(Role.CONSORTIUM_OFFICE)


# --- GET /api/institutions --------------------------------------------------------------------


def test_office_lists_its_consortium_with_staff_and_beds(county, office, other):
    body = office.get("/api/institutions").json()
    assert body["count"] == 8  # seven members and the external hospital
    rows = {i["code"]: i for i in body["items"]}
    assert other.lead.code not in rows
    assert rows[county.lead.code]["beds"] == 40
    assert rows[county.lead.code]["staff_count"] == 1
    assert rows[county.village.code]["parent_code"] == county.township.code
    assert rows[county.external.code]["level"] == "external"


def test_list_filters(county, office):
    def codes(query: str) -> list[str]:
        return [i["code"] for i in office.get("/api/institutions" + query).json()["items"]]

    assert codes(f"?parent={county.township.code}") == [county.village.code, county.other_village.code]
    assert codes("?kind=township_centre") == [county.township.code, county.other_township.code]
    assert codes("?level=village&q=黎埠") == [county.foreign_village.code]
    assert codes("?q=441823000") == [county.lead.code, county.tcm.code]


def test_list_pagination_is_capped_at_200(county, office):
    body = office.get("/api/institutions?limit=3&offset=2").json()
    assert (body["count"], body["limit"], body["offset"], len(body["items"])) == (8, 3, 2, 3)
    assert office.get("/api/institutions?limit=5000").json()["limit"] == 200
    assert_error(office.get("/api/institutions?limit=0"), 422, "invalid", "limit")
    assert_error(office.get("/api/institutions?offset=-1"), 422, "invalid", "offset")


def test_list_refuses_unknown_filters_clearly(county, office, other):
    assert_error(office.get("/api/institutions?kind=spa"), 422, "invalid", "kind")
    assert_error(office.get("/api/institutions?parent=999999999999"), 404, "not_found", "parent")
    assert_error(office.get(f"/api/institutions?parent={other.lead.code}"), 404, "not_found", "parent")


def test_village_doctor_lists_only_her_clinic(county, login_client):
    c = login_client(Role.VILLAGE_DOCTOR)
    body = c.get("/api/institutions").json()
    assert [i["code"] for i in body["items"]] == [county.village.code]
    assert_error(c.get(f"/api/institutions?parent={county.township.code}"), 404, "not_found", "parent")


def test_list_requires_authentication(client, county):
    assert_error(client.get("/api/institutions"), 401, "unauthenticated")


# --- GET /api/institutions/{code} -------------------------------------------------------------


def test_detail_has_consortium_children_and_departments(county, office):
    body = office.get(f"/api/institutions/{county.lead.code}").json()
    assert body["consortium"] == {
        "code": "441823001",
        "name": "阳山县医共体总医院",
        "county_code": "441823",
        "county_name": "阳山县",
    }
    assert body["children"] == [county.tcm.code, county.township.code, county.other_township.code]
    assert body["parent_code"] is None
    assert [(d["code"], d["beds"], d["staff_count"]) for d in body["departments"]] == [("NK", 40, 1)]
    assert (body["beds"], body["staff_count"]) == (40, 1)
    assert body["kind"] == "lead_hospital" and body["kind_display"]


def test_detail_out_of_scope_is_404(county, login_client, other):
    township = login_client(Role.TOWNSHIP_DOCTOR)
    assert township.get(f"/api/institutions/{county.village.code}").status_code == 200
    assert_error(township.get(f"/api/institutions/{county.foreign_village.code}"), 404, "not_found", "code")
    assert_error(township.get("/api/institutions/999999999999"), 404, "not_found", "code")
    office = login_client(Role.CONSORTIUM_OFFICE)
    assert_error(office.get(f"/api/institutions/{other.lead.code}"), 404, "not_found", "code")


def test_township_sees_only_its_visible_children(county, login_client):
    body = login_client(Role.TOWNSHIP_DOCTOR).get(f"/api/institutions/{county.township.code}").json()
    assert body["children"] == [county.village.code, county.other_village.code]
    assert body["parent_code"] == county.lead.code  # the parent's code is shown, not opened


# --- POST /api/institutions -------------------------------------------------------------------

NEW_CLINIC = {
    "code": "441823101003",
    "name": "阳城镇南坑村卫生站",
    "kind": "village_clinic",
    "parent": "441823101000",
}


def test_office_creates_an_institution(county, office):
    response = post(office, "/api/institutions", NEW_CLINIC)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["code"] == "441823101003" and body["parent_code"] == county.township.code
    assert body["consortium"]["code"] == county.consortium.code
    row = last_audit("institution.create")
    assert (row.actor_username, row.role) == ("t_consortium_office", Role.CONSORTIUM_OFFICE)
    assert row.object_id == str(Institution.objects.get(code="441823101003").pk)


def test_office_creates_a_root_member_in_its_own_consortium(county, office):
    response = post(
        office,
        "/api/institutions",
        {"code": "441823000003", "name": "阳山县妇幼保健院", "kind": "lead_hospital"},
    )
    assert response.status_code == 201
    assert response.json()["consortium"]["code"] == county.consortium.code


@pytest.mark.parametrize(
    ("changes", "status", "code", "field"),
    [
        ({"code": "441823102003"}, 422, "invalid", "code"),  # not under its township's code
        ({"code": "44182310100X"}, 422, "invalid", "code"),
        ({"code": "4418231010031"}, 422, "invalid", "code"),  # 13 characters: the schema refuses
        ({"parent": "999999999999"}, 404, "not_found", "parent"),
        ({"parent": "441823000001", "code": "441823000009"}, 422, "invalid", "parent"),
        ({"kind": "spa"}, 422, "invalid", "kind"),
        ({"code": "441823101001"}, 409, "conflict", "code"),
        ({"name": "   "}, 422, "invalid", "name"),
        ({"colour": "red"}, 422, "invalid", "colour"),
    ],
)
def test_bad_institutions_are_refused_and_change_nothing(county, office, changes, status, code, field):
    assert_refused(office, "post", "/api/institutions", {**NEW_CLINIC, **changes}, status, code, field)


def test_missing_field_is_named(county, office):
    data = {k: v for k, v in NEW_CLINIC.items() if k != "name"}
    body = assert_refused(office, "post", "/api/institutions", data, 422, "invalid", "name")
    assert "name" in body["message"]


@pytest.mark.parametrize(
    "role", [Role.HEALTH_BUREAU, Role.VILLAGE_DOCTOR, Role.TOWNSHIP_DOCTOR, Role.RESIDENT]
)
def test_other_roles_cannot_create_institutions(county, login_client, role):
    assert_refused(login_client(role), "post", "/api/institutions", NEW_CLINIC, 403, "forbidden")


def test_office_cannot_create_under_another_consortium(county, office, other):
    data = {
        "code": "441821101001",
        "name": "某村卫生站",
        "kind": "village_clinic",
        "parent": other.township.code,
    }
    assert_refused(office, "post", "/api/institutions", data, 404, "not_found", "parent")


# --- departments ------------------------------------------------------------------------------


def test_department_list(county, office, login_client, other):
    body = office.get(f"/api/institutions/{county.lead.code}/departments").json()
    assert body["count"] == 1
    assert body["items"][0] | {"id": 0} == {
        "id": 0,
        "institution_code": county.lead.code,
        "code": "NK",
        "name": "内科",
        "category": "internal_medicine",
        "category_display": body["items"][0]["category_display"],
        "beds": 40,
        "staff_count": 1,
    }
    assert_error(office.get(f"/api/institutions/{other.lead.code}/departments"), 404, "not_found", "code")
    village = login_client(Role.VILLAGE_DOCTOR)
    assert_error(village.get(f"/api/institutions/{county.lead.code}/departments"), 404, "not_found")


def test_office_creates_a_department(county, office):
    url = f"/api/institutions/{county.township.code}/departments"
    response = post(office, url, {"code": "QK", "name": "全科", "category": "general_practice", "beds": 12})
    assert response.status_code == 201, response.content
    assert response.json()["beds"] == 12
    dept = Department.objects.get(institution=county.township, code="QK")
    row = last_audit("department.create")
    assert row.object_id == str(dept.pk) and row.actor_username == "t_consortium_office"


@pytest.mark.parametrize(
    ("data", "status", "code", "field"),
    [
        ({"code": "NK", "name": "内科", "category": "internal_medicine"}, 409, "conflict", "code"),
        ({"code": "WK", "name": "外科", "category": "astrology"}, 422, "invalid", "category"),
        ({"code": "WK", "name": "外科", "category": "surgery", "beds": -3}, 422, "invalid", "beds"),
        ({"code": "WK", "name": "外科", "category": "surgery", "beds": "many"}, 422, "invalid", "beds"),
        ({"code": "", "name": "外科", "category": "surgery"}, 422, "invalid", "code"),
    ],
)
def test_bad_departments_are_refused(county, office, data, status, code, field):
    assert_refused(
        office, "post", f"/api/institutions/{county.lead.code}/departments", data, status, code, field
    )


@pytest.mark.parametrize("role", [Role.HEALTH_BUREAU, Role.VILLAGE_DOCTOR, Role.COUNTY_DOCTOR])
def test_other_roles_cannot_create_departments(county, login_client, role):
    data = {"code": "WK", "name": "外科", "category": "surgery"}
    url = f"/api/institutions/{county.lead.code}/departments"
    assert_refused(login_client(role), "post", url, data, 403, "forbidden")


def test_departments_of_another_consortium_are_404(county, office, other):
    data = {"code": "WK", "name": "外科", "category": "surgery"}
    url = f"/api/institutions/{other.lead.code}/departments"
    assert_refused(office, "post", url, data, 404, "not_found", "code")
    assert_refused(office, "patch", f"/api/departments/{other.department.pk}", {"beds": 1}, 404, "not_found")


def test_office_changes_beds(county, office):
    dept = Department.objects.get(institution=county.lead)
    response = patch(office, f"/api/departments/{dept.pk}", {"beds": 55})
    assert response.status_code == 200 and response.json()["beds"] == 55
    row = last_audit("department.set_beds")
    assert (row.before, row.after, row.actor_username) == ({"beds": 40}, {"beds": 55}, "t_consortium_office")


@pytest.mark.parametrize("role", [Role.HEALTH_BUREAU, Role.COUNTY_DOCTOR])
def test_other_roles_cannot_change_beds(county, login_client, role):
    dept = Department.objects.get(institution=county.lead)
    assert_refused(login_client(role), "patch", f"/api/departments/{dept.pk}", {"beds": 1}, 403, "forbidden")


def test_bad_bed_changes(county, office):
    dept = Department.objects.get(institution=county.lead)
    assert_refused(office, "patch", f"/api/departments/{dept.pk}", {"beds": -1}, 422, "invalid", "beds")
    assert_refused(office, "patch", f"/api/departments/{dept.pk}", {}, 422, "invalid", "beds")
    assert_refused(office, "patch", "/api/departments/999999", {"beds": 1}, 404, "not_found", "department_id")
    assert_error(patch(office, "/api/departments/abc", {"beds": 1}), 422, "invalid", "department_id")


# --- staff ------------------------------------------------------------------------------------


def test_staff_list_masks_id_numbers_for_everyone_but_the_office(county, office, login_client):
    body = office.get("/api/staff").json()
    rows = {s["employee_no"]: s for s in body["items"]}
    assert set(rows) == {"L0001", "V0001"}
    doctor = county.staff["county_doctor"]
    assert rows["L0001"]["id_number"] == doctor.id_number
    assert rows["L0001"]["department_name"] == "内科"
    colleague = login_client(Role.COUNTY_DOCTOR).get("/api/staff").json()["items"]
    assert [s["id_number"] for s in colleague] == [idnumbers.mask(doctor.id_number)]


def test_staff_list_filters_and_scope(county, office, login_client, other):
    def numbers(c: Client, query: str) -> list[str]:
        return [s["employee_no"] for s in c.get("/api/staff" + query).json()["items"]]

    assert numbers(office, f"?institution={county.village.code}") == ["V0001"]
    assert numbers(office, "?profession=physician") == ["L0001"]
    assert numbers(office, "?q=黄") == ["V0001"]
    assert_error(office.get(f"/api/staff?institution={other.lead.code}"), 404, "not_found", "institution")
    assert_error(office.get("/api/staff?profession=wizard"), 422, "invalid", "profession")
    assert numbers(login_client(Role.TOWNSHIP_DOCTOR), "") == ["V0001"]
    assert numbers(login_client(Role.RESIDENT), "") == []


def test_staff_detail_and_scope(county, office, login_client, other):
    doctor = county.staff["county_doctor"]
    body = office.get(f"/api/staff/{doctor.pk}").json()
    assert (body["name"], body["institution_code"], body["sex"]) == ("李建国", county.lead.code, "M")
    assert_error(office.get(f"/api/staff/{other.staff.pk}"), 404, "not_found", "staff_id")
    village = login_client(Role.VILLAGE_DOCTOR)
    assert_error(village.get(f"/api/staff/{doctor.pk}"), 404, "not_found")
    assert village.get(f"/api/staff/{county.staff['village_doctor'].pk}").status_code == 200


NEW_STAFF = {
    "institution": "441823101000",
    "employee_no": "T0100",
    "name": "陈美玲",
    "profession": "nurse",
    "id_number": idnumbers.build("441823", dt.date(1990, 5, 17), 22),
}


def test_office_registers_staff(county, office):
    response = post(office, "/api/staff", NEW_STAFF)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["sex"], body["birth_date"], body["institution_code"]) == (
        "F",
        "1990-05-17",
        county.township.code,
    )
    row = last_audit("staff.create")
    assert row.object_id == str(body["id"]) and row.actor_username == "t_consortium_office"


def test_office_registers_staff_with_an_old_15_digit_number_and_a_department(county, office):
    dept = Department.objects.get(institution=county.lead)
    data = {
        **NEW_STAFF,
        "institution": county.lead.code,
        "department": dept.pk,
        "id_number": "441823800101022",
    }
    response = post(office, "/api/staff", data)
    assert response.status_code == 201, response.content
    assert response.json()["id_number"] == idnumbers.build("441823", dt.date(1980, 1, 1), 22)
    assert response.json()["department_id"] == dept.pk


@pytest.mark.parametrize(
    ("changes", "status", "code", "field"),
    [
        ({"id_number": "441823199005170221"}, 422, "invalid", "id_number"),
        ({"id_number": "12345"}, 422, "invalid", "id_number"),
        ({"id_number": "441823199002300228"}, 422, "invalid", "id_number"),
        ({"sex": "M"}, 422, "invalid", "sex"),
        ({"birth_date": "1991-01-01"}, 422, "invalid", "birth_date"),
        ({"birth_date": "yesterday"}, 422, "invalid", "birth_date"),
        ({"profession": "wizard"}, 422, "invalid", "profession"),
        ({"employee_no": "V0001", "institution": "441823101001"}, 409, "conflict", "employee_no"),
        ({"institution": "999999999999"}, 404, "not_found", "institution"),
        ({"department": 999999}, 404, "not_found", "department"),
    ],
)
def test_bad_staff_is_refused_and_changes_nothing(county, office, changes, status, code, field):
    assert_refused(office, "post", "/api/staff", {**NEW_STAFF, **changes}, status, code, field)


def test_department_of_another_institution_is_refused(county, office):
    dept = Department.objects.get(institution=county.lead)
    assert_refused(
        office, "post", "/api/staff", {**NEW_STAFF, "department": dept.pk}, 422, "invalid", "department"
    )


def test_bad_id_number_message_is_clear(county, office, settings):
    body = assert_refused(
        office,
        "post",
        "/api/staff",
        {**NEW_STAFF, "id_number": "441823199005170221"},
        422,
        "invalid",
        "id_number",
    )
    response = office.post(
        "/api/staff",
        {**NEW_STAFF, "id_number": "441823199005170221"},
        content_type="application/json",
        headers={"Accept-Language": "en"},
    )
    assert response.json()["message"] == "The check character of the ID number is wrong."
    assert body["message"]


@pytest.mark.parametrize("role", [Role.HEALTH_BUREAU, Role.VILLAGE_DOCTOR, Role.TOWNSHIP_DOCTOR])
def test_other_roles_cannot_register_staff(county, login_client, role):
    assert_refused(login_client(role), "post", "/api/staff", NEW_STAFF, 403, "forbidden")


def test_office_cannot_register_staff_in_another_consortium(county, office, other):
    data = {**NEW_STAFF, "institution": other.township.code}
    assert_refused(office, "post", "/api/staff", data, 404, "not_found", "institution")


def test_office_updates_staff(county, office):
    staff = county.staff["village_doctor"]
    response = patch(office, f"/api/staff/{staff.pk}", {"title": "junior", "phone": "13800001111"})
    assert response.status_code == 200, response.content
    assert (response.json()["title"], response.json()["phone"]) == ("junior", "13800001111")
    row = last_audit("staff.update")
    assert row.before is not None and row.after is not None
    assert (row.before["title"], row.after["title"]) == ("none", "junior")


def test_staff_update_sets_and_clears_the_department_and_id_number(county, office):
    staff = county.staff["county_doctor"]
    response = patch(office, f"/api/staff/{staff.pk}", {"department": None, "id_number": None})
    assert response.status_code == 200, response.content
    assert (response.json()["department_id"], response.json()["id_number"]) == (None, None)
    dept = Department.objects.get(institution=county.lead)
    assert patch(office, f"/api/staff/{staff.pk}", {"department": dept.pk}).json()["department_id"] == dept.pk


def test_bad_staff_updates(county, office, login_client, other):
    staff = county.staff["county_doctor"]
    url = f"/api/staff/{staff.pk}"
    assert_refused(office, "patch", url, {"id_number": "123"}, 422, "invalid", "id_number")
    assert_refused(office, "patch", url, {"title": "emperor"}, 422, "invalid", "title")
    assert_refused(office, "patch", f"/api/staff/{other.staff.pk}", {"title": "junior"}, 404, "not_found")
    assert_refused(login_client(Role.HEALTH_BUREAU), "patch", url, {"title": "senior"}, 403, "forbidden")
    assert_refused(login_client(Role.VILLAGE_DOCTOR), "patch", url, {"title": "senior"}, 403, "forbidden")


# --- secondments ------------------------------------------------------------------------------


def _dates(start: int, end: int) -> dict[str, str]:
    today = timezone.localdate()
    return {
        "start_date": (today + dt.timedelta(days=start)).isoformat(),
        "end_date": (today + dt.timedelta(days=end)).isoformat(),
    }


def _second(county) -> dict[str, Any]:
    return {"staff": county.staff["county_doctor"].pk, "host": county.township.code, **_dates(-10, 80)}


def test_office_seconds_a_doctor_and_lists_it(county, office, login_client):
    response = post(office, "/api/secondments", {**_second(county), "purpose": "技术帮扶"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["home_code"], body["host_code"], body["is_current"]) == (
        county.lead.code,
        county.township.code,
        True,
    )
    row = last_audit("secondment.create")
    assert row.object_id == str(body["id"]) and row.actor_username == "t_consortium_office"
    future = post(
        office,
        "/api/secondments",
        {**_second(county), "host": county.other_township.code, **_dates(100, 130)},
    )
    assert future.status_code == 201
    assert office.get("/api/secondments").json()["count"] == 2
    current = office.get("/api/secondments?current=true").json()
    assert [s["id"] for s in current["items"]] == [body["id"]]
    township = login_client(Role.TOWNSHIP_DOCTOR).get("/api/secondments").json()
    assert [s["id"] for s in township["items"]] == [body["id"]]
    assert login_client(Role.VILLAGE_DOCTOR).get("/api/secondments").json()["count"] == 0


@pytest.mark.parametrize(
    ("changes", "status", "code", "field"),
    [
        (_dates(10, 5), 422, "invalid", "end_date"),
        ({"host": "441823000001"}, 422, "invalid", "host"),  # his own hospital
        ({"host": "440104000001"}, 422, "invalid", "host"),  # outside the consortium
        ({"host": "999999999999"}, 404, "not_found", "host"),
        ({"staff": 999999}, 404, "not_found", "staff"),
        ({"start_date": "2026-02-30"}, 422, "invalid", "start_date"),
    ],
)
def test_bad_secondments_are_refused(county, office, changes, status, code, field):
    assert_refused(office, "post", "/api/secondments", {**_second(county), **changes}, status, code, field)


def test_overlapping_secondment_is_409(county, office):
    assert post(office, "/api/secondments", _second(county)).status_code == 201
    overlapping = {**_second(county), "host": county.other_township.code, **_dates(50, 90)}
    assert_refused(office, "post", "/api/secondments", overlapping, 409, "conflict", "start_date")


@pytest.mark.parametrize("role", [Role.HEALTH_BUREAU, Role.VILLAGE_DOCTOR, Role.TOWNSHIP_DOCTOR])
def test_other_roles_cannot_second(county, login_client, role):
    assert_refused(login_client(role), "post", "/api/secondments", _second(county), 403, "forbidden")


def test_office_cannot_second_into_another_consortium(county, office, other):
    data = {**_second(county), "host": other.township.code}
    assert_refused(office, "post", "/api/secondments", data, 404, "not_found", "host")
    data = {**_second(county), "staff": other.staff.pk}
    assert_refused(office, "post", "/api/secondments", data, 404, "not_found", "staff")


def test_ending_a_secondment_early(county, office, login_client):
    sid = post(office, "/api/secondments", _second(county)).json()["id"]
    url = f"/api/secondments/{sid}/end"
    assert_refused(login_client(Role.HEALTH_BUREAU), "post", url, {}, 403, "forbidden")
    assert_refused(login_client(Role.TOWNSHIP_DOCTOR), "post", url, {}, 403, "forbidden")
    office = login_client(Role.CONSORTIUM_OFFICE)
    far = (timezone.localdate() + dt.timedelta(days=365)).isoformat()
    assert_refused(office, "post", url, {"on": far}, 422, "invalid", "on")
    response = post(office, url, {})
    assert response.status_code == 200, response.content
    assert response.json()["ended_early_on"] == timezone.localdate().isoformat()
    row = last_audit("secondment.end_early")
    assert row.after == {"ended_early_on": timezone.localdate().isoformat()}
    assert_refused(office, "post", url, {}, 409, "conflict")
    assert_refused(office, "post", "/api/secondments/999999/end", {}, 404, "not_found", "secondment_id")


def test_ending_with_an_empty_body_means_today(county, office):
    sid = post(office, "/api/secondments", _second(county)).json()["id"]
    response = office.post(f"/api/secondments/{sid}/end", content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["ended_early_on"] == timezone.localdate().isoformat()


# --- CSRF -------------------------------------------------------------------------------------


def _csrf_client(county) -> Client:
    c = Client(enforce_csrf_checks=True)
    c.force_login(county.users[Role.CONSORTIUM_OFFICE])
    return c


def test_session_writes_need_the_csrf_token(county):
    c = _csrf_client(county)
    before = _counts()
    response = post(c, "/api/institutions", NEW_CLINIC)
    assert_error(response, 403, "csrf_failed")
    assert _counts() == before
    secret = "a" * 32
    c.cookies["csrftoken"] = secret
    response = c.post(
        "/api/institutions", NEW_CLINIC, content_type="application/json", headers={"X-CSRFToken": secret}
    )
    assert response.status_code == 201, response.content


def test_session_reads_need_no_csrf_token(county):
    assert _csrf_client(county).get("/api/institutions").status_code == 200


def test_token_writes_need_no_csrf_token(county):
    from yigongti.accounts.services import token_create

    _token, raw = token_create(actor=None, user=county.users[Role.CONSORTIUM_OFFICE])
    c = Client(enforce_csrf_checks=True)
    response = c.post(
        "/api/institutions",
        NEW_CLINIC,
        content_type="application/json",
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 201, response.content
    row = last_audit("institution.create")
    assert (row.actor_username, row.institution_id) == ("t_consortium_office", county.lead.pk)
