"""Institution, staff and secondment pages: allowed, denied, out of scope, forms and htmx partials."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from yigongti.accounts.choices import Role
from yigongti.core import idnumbers
from yigongti.core.models import AuditEvent
from yigongti.institutions import services as inst
from yigongti.institutions.choices import InstitutionKind
from yigongti.institutions.models import Secondment, Staff

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def _valid_id(seq: int = 31) -> str:
    return idnumbers.build("441823", dt.date(1988, 4, 12), seq)


def _staff_post(**overrides):
    data = {
        "name": "周晓兰",
        "sex": "",
        "id_number": _valid_id(),
        "profession": "nurse",
        "title": "junior",
        "phone": "13800000001",
        "employee_no": "T0101",
        "department": "",
    }
    data.update(overrides)
    return data


# --- institution list -----------------------------------------------------------------------


def test_institution_list_as_office_shows_the_consortium(login_client, county):
    response = login_client(Role.CONSORTIUM_OFFICE).get("/institutions/")
    assert response.status_code == 200
    html = response.content.decode()
    for name in (
        "阳山县人民医院",
        "阳城镇卫生院",
        "阳城镇东山村卫生站",
        "黎埠镇水井村卫生站",
        "广东省人民医院",
    ):
        assert name in html
    assert 'data-testid="search"' in html and 'hx-trigger="input changed delay:300ms, search"' in html


def test_institution_search_and_filters(login_client, county):
    client = login_client(Role.CONSORTIUM_OFFICE)
    html = client.get("/institutions/", {"q": "东山"}).content.decode()
    assert "阳城镇东山村卫生站" in html and "黎埠镇水井村卫生站" not in html
    by_code = client.get("/institutions/", {"q": "441823102"}).content.decode()
    assert "黎埠镇卫生院" in by_code and "阳城镇卫生院" not in by_code
    villages = client.get("/institutions/", {"kind": InstitutionKind.VILLAGE_CLINIC}).content.decode()
    assert "阳城镇西岭村卫生站" in villages and "阳山县中医院" not in villages
    county_level = client.get("/institutions/", {"level": "county"}).content.decode()
    assert "阳山县中医院" in county_level and "阳城镇西岭村卫生站" not in county_level
    garbage = client.get("/institutions/", {"kind": "no-such-kind", "page": "abc"})
    assert garbage.status_code == 200


def test_institution_list_htmx_returns_only_the_partial(login_client, county):
    response = login_client(Role.CONSORTIUM_OFFICE).get(
        "/institutions/", {"q": "西岭"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and '<nav class="mainnav"' not in html
    assert 'data-testid="institution-table"' in html
    assert "阳城镇西岭村卫生站" in html and "阳城镇东山村卫生站" not in html


def test_htmx_history_restore_gets_the_whole_page(login_client, county):
    response = login_client(Role.CONSORTIUM_OFFICE).get(
        "/institutions/", {"q": "西岭"}, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )
    assert "<html" in response.content.decode()


def test_institution_list_paginates_25_per_page(login_client, county):
    for n in range(3, 33):
        inst.institution_create(
            actor=None,
            code=f"441823101{n:03d}",
            name=f"阳城镇{n:02d}号村卫生站",
            kind=InstitutionKind.VILLAGE_CLINIC,
            parent=county.township,
        )
    client = login_client(Role.CONSORTIUM_OFFICE)
    first = client.get("/institutions/", {"kind": InstitutionKind.VILLAGE_CLINIC}).content.decode()
    assert first.count("村卫生站</a>") == 25
    assert 'data-testid="pager"' in first
    second = client.get(
        "/institutions/", {"kind": InstitutionKind.VILLAGE_CLINIC, "page": 2}
    ).content.decode()
    assert second.count("村卫生站</a>") == 33 - 25  # 30 new + 3 from the small county


def test_institution_list_is_scoped_for_a_village_doctor(login_client, county):
    html = login_client(Role.VILLAGE_DOCTOR).get("/institutions/").content.decode()
    assert "阳城镇东山村卫生站" in html
    assert "黎埠镇水井村卫生站" not in html and "阳城镇西岭村卫生站" not in html


def test_institution_pages_refuse_residents_and_anonymous(client, login_client, county):
    assert client.get("/institutions/").status_code == 302
    resident = login_client(Role.RESIDENT)
    assert resident.get("/institutions/").status_code == 403
    assert resident.get(f"/institutions/{county.village.code}/").status_code == 403
    assert resident.get("/institutions/staff/").status_code == 403


# --- institution detail ---------------------------------------------------------------------


def test_township_detail_shows_children_departments_staff_and_secondments(login_client, county):
    inst.department_create(
        actor=None, institution=county.township, code="QK", name="全科", category="general_practice", beds=12
    )
    inst.secondment_create(
        actor=None,
        staff=county.staff["county_doctor"],
        host=county.township,
        start_date=TODAY() - dt.timedelta(days=5),
        end_date=TODAY() + dt.timedelta(days=60),
        purpose="技术帮扶",
    )
    response = login_client(Role.CONSORTIUM_OFFICE).get(f"/institutions/{county.township.code}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "阳城镇东山村卫生站" in html and "阳城镇西岭村卫生站" in html  # children
    assert "全科" in html
    assert 'data-testid="institution-beds">12<' in html
    assert 'data-testid="current-secondments"' in html and "技术帮扶" in html
    assert "李建国" in html  # seconded here, so in this centre's staff list too


def test_lead_detail_shows_secondment_out(login_client, county):
    inst.secondment_create(
        actor=None,
        staff=county.staff["county_doctor"],
        host=county.township,
        start_date=TODAY(),
        end_date=TODAY() + dt.timedelta(days=30),
    )
    html = login_client(Role.COUNTY_DOCTOR).get(f"/institutions/{county.lead.code}/").content.decode()
    assert 'data-testid="current-secondments"' in html and "阳城镇卫生院" in html


def test_detail_out_of_scope_or_unknown_is_404(login_client, county):
    client = login_client(Role.VILLAGE_DOCTOR)
    assert client.get(f"/institutions/{county.village.code}/").status_code == 200
    foreign = client.get(f"/institutions/{county.foreign_village.code}/")
    assert foreign.status_code == 404
    assert 'data-testid="error-page"' in foreign.content.decode()
    assert "黎埠镇水井村卫生站" not in foreign.content.decode()
    assert client.get("/institutions/999999999999/").status_code == 404
    assert client.get(f"/institutions/{county.lead.code}/").status_code == 404


# --- staff ----------------------------------------------------------------------------------


def test_staff_list_search_and_filters(login_client, county):
    client = login_client(Role.CONSORTIUM_OFFICE)
    html = client.get("/institutions/staff/").content.decode()
    assert "李建国" in html and "黄秀英" in html
    assert "黄秀英" not in client.get("/institutions/staff/", {"q": "李"}).content.decode()
    assert "李建国" in client.get("/institutions/staff/", {"q": "L00"}).content.decode()
    by_inst = client.get("/institutions/staff/", {"institution": county.village.code}).content.decode()
    assert "黄秀英" in by_inst and "李建国" not in by_inst
    by_prof = client.get("/institutions/staff/", {"profession": "physician"}).content.decode()
    assert "李建国" in by_prof and "黄秀英" not in by_prof
    partial = client.get("/institutions/staff/", {"q": "黄"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and "黄秀英" in partial


def test_staff_list_is_scoped(login_client, county):
    html = login_client(Role.VILLAGE_DOCTOR).get("/institutions/staff/").content.decode()
    assert "黄秀英" in html and "李建国" not in html
    assert 'data-testid="new-staff"' not in html


def test_staff_detail_masks_the_id_number_and_is_scoped(login_client, county):
    doctor = county.staff["county_doctor"]
    response = login_client(Role.CONSORTIUM_OFFICE).get(f"/institutions/staff/{doctor.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "李建国" in html
    assert doctor.id_number not in html and idnumbers.mask(doctor.id_number) in html
    village = login_client(Role.VILLAGE_DOCTOR)
    assert village.get(f"/institutions/staff/{doctor.pk}/").status_code == 404
    assert village.get("/institutions/staff/999999/").status_code == 404


def test_staff_create_happy_path_writes_row_and_audit(login_client, county):
    client = login_client(Role.CONSORTIUM_OFFICE)
    form = client.get(f"/institutions/{county.township.code}/staff/new/")
    assert form.status_code == 200 and 'name="id_number"' in form.content.decode()
    response = client.post(f"/institutions/{county.township.code}/staff/new/", _staff_post())
    staff = Staff.objects.get(employee_no="T0101", institution=county.township)
    assert response.status_code == 302 and response["Location"] == f"/institutions/staff/{staff.pk}/"
    assert staff.sex == "M" and staff.birth_date == dt.date(1988, 4, 12)  # read from the ID number
    event = AuditEvent.objects.filter(verb="staff.create", object_id=str(staff.pk)).get()
    assert event.actor_id == county.users[Role.CONSORTIUM_OFFICE].pk


def test_staff_create_with_a_department(login_client, county):
    dept = county.lead.departments.get(code="NK")
    response = login_client(Role.CONSORTIUM_OFFICE).post(
        f"/institutions/{county.lead.code}/staff/new/",
        _staff_post(department=str(dept.pk), id_number="", sex="F", employee_no="L0200"),
    )
    assert response.status_code == 302
    assert Staff.objects.get(employee_no="L0200").department == dept


def test_staff_create_bad_id_number_shows_field_error_and_saves_nothing(login_client, county):
    staff_before = Staff.objects.count()
    audit_before = AuditEvent.objects.count()
    bad = _valid_id()[:-1] + ("0" if _valid_id()[-1] != "0" else "1")  # wrong check character
    response = login_client(Role.CONSORTIUM_OFFICE).post(
        f"/institutions/{county.township.code}/staff/new/", _staff_post(id_number=bad)
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert 'data-testid="error-id_number"' in html
    assert 'data-testid="form-error"' in html
    assert "周晓兰" in html  # the form keeps what was typed
    assert Staff.objects.count() == staff_before
    assert AuditEvent.objects.count() == audit_before


def test_staff_create_missing_fields_and_duplicate_number(login_client, county):
    client = login_client(Role.CONSORTIUM_OFFICE)
    empty = client.post(f"/institutions/{county.township.code}/staff/new/", {})
    assert empty.status_code == 422 and 'data-testid="error-name"' in empty.content.decode()
    dup = client.post(
        f"/institutions/{county.village.code}/staff/new/", _staff_post(employee_no="V0001", id_number="")
    )
    # no sex and no ID number: the service names the sex field
    assert dup.status_code == 422 and 'data-testid="error-sex"' in dup.content.decode()
    dup = client.post(
        f"/institutions/{county.village.code}/staff/new/",
        _staff_post(employee_no="V0001", sex="F", id_number=""),
    )
    assert dup.status_code == 409 and 'data-testid="form-error"' in dup.content.decode()
    assert Staff.objects.filter(institution=county.village).count() == 1


@pytest.mark.parametrize("role", [Role.HEALTH_BUREAU, Role.NURSE, Role.VILLAGE_DOCTOR, Role.COUNTY_DOCTOR])
def test_staff_create_is_office_only(login_client, county, role):
    client = login_client(role)
    before = Staff.objects.count()
    assert client.get("/institutions/staff/new/").status_code == 403
    assert client.get(f"/institutions/{county.village.code}/staff/new/").status_code == 403
    response = client.post(f"/institutions/{county.village.code}/staff/new/", _staff_post())
    assert response.status_code == 403
    assert 'data-testid="error-page"' in response.content.decode()
    assert Staff.objects.count() == before


def test_staff_create_outside_scope_is_404(login_client, county):
    client = login_client(Role.CONSORTIUM_OFFICE)
    assert client.get(f"/institutions/{county.bureau.code}/staff/new/").status_code == 404


def test_staff_new_picks_the_institution_first(login_client, county):
    client = login_client(Role.CONSORTIUM_OFFICE)
    page = client.get("/institutions/staff/new/").content.decode()
    assert "阳城镇卫生院" in page and "广东省人民医院" not in page
    response = client.get("/institutions/staff/new/", {"institution": county.township.code})
    assert response.status_code == 302
    assert response["Location"] == f"/institutions/{county.township.code}/staff/new/"
    assert client.get("/institutions/staff/new/", {"institution": county.external.code}).status_code == 200


# --- secondments ----------------------------------------------------------------------------


def _secondment_post(county, **overrides):
    data = {
        "staff": str(county.staff["county_doctor"].pk),
        "host": county.township.code,
        "start_date": (TODAY() + dt.timedelta(days=1)).isoformat(),
        "end_date": (TODAY() + dt.timedelta(days=180)).isoformat(),
        "purpose": "下沉帮扶",
    }
    data.update(overrides)
    return data


def test_secondment_create_happy_path(login_client, county):
    client = login_client(Role.CONSORTIUM_OFFICE)
    form = client.get("/institutions/secondments/new/", {"staff": county.staff["county_doctor"].pk})
    assert form.status_code == 200 and 'type="date"' in form.content.decode()
    response = client.post("/institutions/secondments/new/", _secondment_post(county))
    assert response.status_code == 302
    secondment = Secondment.objects.get()
    assert secondment.host == county.township and secondment.home == county.lead
    assert AuditEvent.objects.filter(verb="secondment.create", object_id=str(secondment.pk)).exists()
    listing = client.get("/institutions/secondments/", {"show": "all"}).content.decode()
    assert "下沉帮扶" in listing


def test_secondment_create_errors_show_on_the_form(login_client, county):
    client = login_client(Role.CONSORTIUM_OFFICE)
    backwards = client.post(
        "/institutions/secondments/new/",
        _secondment_post(county, end_date=(TODAY() - dt.timedelta(days=3)).isoformat()),
    )
    assert backwards.status_code == 422
    assert 'data-testid="error-end_date"' in backwards.content.decode()
    same_place = client.post(
        "/institutions/secondments/new/", _secondment_post(county, host=county.lead.code)
    )
    assert same_place.status_code == 422
    assert 'data-testid="error-host"' in same_place.content.decode()
    outsider = client.post(
        "/institutions/secondments/new/", _secondment_post(county, host=county.external.code)
    )
    assert outsider.status_code == 422  # not offered, so the form itself refuses it
    assert not Secondment.objects.exists()


@pytest.mark.parametrize("role", [Role.HEALTH_BUREAU, Role.COUNTY_DOCTOR, Role.TOWNSHIP_DOCTOR])
def test_secondment_create_is_office_only(login_client, county, role):
    client = login_client(role)
    assert client.get("/institutions/secondments/new/").status_code == 403
    assert client.post("/institutions/secondments/new/", _secondment_post(county)).status_code == 403
    assert not Secondment.objects.exists()


def test_secondment_list_current_and_all(login_client, county):
    inst.secondment_create(
        actor=None,
        staff=county.staff["county_doctor"],
        host=county.township,
        start_date=TODAY() + dt.timedelta(days=30),
        end_date=TODAY() + dt.timedelta(days=90),
        purpose="计划中的派驻",
    )
    client = login_client(Role.HEALTH_BUREAU)
    assert "计划中的派驻" not in client.get("/institutions/secondments/").content.decode()
    everything = client.get("/institutions/secondments/", {"show": "all"}).content.decode()
    assert "计划中的派驻" in everything
    assert 'data-testid="new-secondment"' not in everything
    partial = client.get("/institutions/secondments/", {"show": "all", "q": "李"}, HTTP_HX_REQUEST="true")
    assert "<html" not in partial.content.decode() and "计划中的派驻" in partial.content.decode()
