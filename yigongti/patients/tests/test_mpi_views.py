"""Master patient index pages: the registration desk with its live match panel, the review
queue and detail, decisions, merge history and undo; who may open each, bad input, audit rows."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from yigongti.accounts.choices import Role
from yigongti.core import idnumbers
from yigongti.core.models import AuditEvent
from yigongti.patients.matching.services import Entry, registration_create
from yigongti.patients.models import MatchReview, Merge, NonMatch, Patient, Registration

pytestmark = pytest.mark.django_db

BIRTH = dt.date(1968, 4, 9)
SWAPPED = dt.date(1968, 9, 4)
ID = idnumbers.build("441823", BIRTH, 124)  # even sequence: a woman

REGISTRARS = [Role.COUNTY_DOCTOR, Role.TOWNSHIP_DOCTOR, Role.VILLAGE_DOCTOR, Role.NURSE]
NOT_REGISTRARS = [Role.CONSORTIUM_OFFICE, Role.HEALTH_BUREAU, Role.RESIDENT]
NOT_STEWARDS = [Role.HEALTH_BUREAU, Role.VILLAGE_DOCTOR, Role.COUNTY_DOCTOR, Role.RESIDENT]


def _verbs(verb: str) -> int:
    return AuditEvent.objects.filter(verb=verb).count()


def _html(response) -> str:
    return response.content.decode()


@pytest.fixture
def existing(county):
    """刘秀英 on file at the county hospital, with a phone."""
    return registration_create(
        actor=None,
        institution=county.lead,
        entry=Entry(name="刘秀英", sex="F", birth_date=BIRTH, phone="13500000005"),
    ).patient


@pytest.fixture
def review(county, existing):
    """The same name with day and month swapped and no phone: the index asks a person."""
    done = registration_create(
        actor=None, institution=county.township, entry=Entry(name="刘秀英", sex="F", birth_date=SWAPPED)
    )
    assert done.decision == "review"
    return MatchReview.objects.get(patient=done.patient)


def _form(**overrides):
    data = {
        "name": "",
        "sex": "",
        "birth_date": "",
        "id_number": "",
        "phone": "",
        "address": "",
        "village_code": "",
        "local_number": "",
        "health_card_number": "",
        "insurance_number": "",
    }
    data.update(overrides)
    return data


# --- registration page ----------------------------------------------------------------------


@pytest.mark.parametrize("role", REGISTRARS)
def test_registrars_open_the_registration_form(login_client, county, role):
    response = login_client(role).get("/patients/register/")
    assert response.status_code == 200
    html = _html(response)
    assert "登记居民" in html and 'data-testid="register-form"' in html
    assert 'hx-post="/patients/register/match/"' in html and "csrfmiddlewaretoken" in html
    assert 'data-testid="nav-register"' in html
    # every village clinic of the consortium is offered, grouped by township; not the foreign county's
    assert county.village.code in html and county.foreign_village.code in html
    assert '<optgroup label="阳城镇">' in html


@pytest.mark.parametrize("role", NOT_REGISTRARS)
def test_others_may_not_register(login_client, county, role):
    client = login_client(role)
    for response in (
        client.get("/patients/register/"),
        client.post("/patients/register/", _form(name="赵六")),
        client.post("/patients/register/match/", _form(name="赵六")),
    ):
        assert response.status_code == 403
        assert 'data-testid="error-page"' in _html(response)
    assert 'data-testid="nav-register"' not in _html(client.get("/"))
    assert not Registration.objects.exists()


def test_anonymous_is_sent_to_login(client, county):
    for url in ("/patients/register/", "/patients/reviews/", "/patients/merges/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_match_panel_hints_while_the_name_is_empty(login_client, county):
    response = login_client(Role.COUNTY_DOCTOR).post(
        "/patients/register/match/", _form(birth_date="1968-09-04"), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = _html(response)
    assert "<html" not in html and 'data-testid="match-hint"' in html
    assert 'data-testid="match-invalid"' not in html


def test_match_panel_shows_validation_errors_inline(login_client, county):
    client = login_client(Role.COUNTY_DOCTOR)
    digits = client.post("/patients/register/match/", _form(name="12345"), HTTP_HX_REQUEST="true")
    assert digits.status_code == 200
    assert 'data-testid="match-invalid"' in _html(digits) and "姓名" in _html(digits)
    future = client.post(
        "/patients/register/match/", _form(name="张三", birth_date="2999-01-01"), HTTP_HX_REQUEST="true"
    )
    assert future.status_code == 200 and "出生日期" in _html(future)
    garbled = client.post(
        "/patients/register/match/", _form(name="张三", birth_date="not-a-date"), HTTP_HX_REQUEST="true"
    )
    assert garbled.status_code == 200 and 'data-testid="match-invalid"' in _html(garbled)


def test_match_panel_shows_a_near_duplicate_with_its_explanation(login_client, county, existing):
    before = Registration.objects.count()
    response = login_client(Role.TOWNSHIP_DOCTOR).post(
        "/patients/register/match/",
        _form(name="刘秀英", sex="F", birth_date="1968-09-04"),
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = _html(response)
    assert html.count('data-testid="match-candidate"') == 1
    assert "刘秀英" in html and "1968-04-09" in html
    assert 'data-decision="review"' in html and "需人工复核" in html
    assert 'data-field="birth_date" data-level="swap"' in html and "日月颠倒" in html
    assert 'data-field="name" data-level="exact"' in html and "完全一致" in html
    assert re.search(r"\d+\.\d%", html)
    assert Registration.objects.count() == before  # a preview writes nothing
    assert _verbs("patient.register") == 1  # the fixture's own


def test_match_panel_masks_the_candidates_id_number(login_client, county):
    registration_create(
        actor=None,
        institution=county.lead,
        entry=Entry(name="黄小燕", sex="F", birth_date=BIRTH, id_number=ID, phone="13700000007"),
    )
    html = _html(
        login_client(Role.COUNTY_DOCTOR).post(
            "/patients/register/match/", _form(name="黄小燕", id_number=ID), HTTP_HX_REQUEST="true"
        )
    )
    assert idnumbers.mask(ID) in html and ID not in html
    assert 'data-decision="linked"' in html and "将关联到已有居民" in html
    assert 'data-field="id_number" data-level="exact"' in html


def test_match_panel_for_someone_new(login_client, county, existing):
    html = _html(
        login_client(Role.COUNTY_DOCTOR).post(
            "/patients/register/match/", _form(name="覃翊珩", birth_date="1990-01-02"), HTTP_HX_REQUEST="true"
        )
    )
    assert 'data-decision="new"' in html and "将建立新居民档案" in html
    assert 'data-testid="match-none"' in html


def test_register_files_a_new_resident_and_says_so(login_client, county):
    county.village.address = "广东省清远市阳山县阳城镇东山村"
    county.village.save()
    client = login_client(Role.VILLAGE_DOCTOR)
    response = client.post(
        "/patients/register/",
        _form(
            name="黄小燕",
            sex="F",
            birth_date="1968-04-09",
            address="阳城镇东山村5组12号",
            local_number="DS-1",
        ),
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/patients/register/"
    html = _html(response)
    registration = Registration.objects.get(local_number="DS-1")
    patient = registration.patient
    assert registration.institution_id == county.village.pk and registration.decision == "new"
    assert patient.health_record_number and patient.health_record_number in html
    assert "已为黄小燕建立新居民档案" in html and "健康档案号" in html
    event = AuditEvent.objects.filter(verb="patient.register").latest("seq")
    assert event.actor_id == county.users[Role.VILLAGE_DOCTOR].pk
    assert event.institution_id == county.village.pk
    assert event.after is not None and event.after["registration_id"] == registration.pk


def test_register_files_at_the_active_membership_institution(login_client, county):
    from yigongti.accounts.services import membership_grant

    user = county.users[Role.TOWNSHIP_DOCTOR]
    second = membership_grant(actor=None, user=user, institution=county.village, role=Role.NURSE)
    client = login_client(Role.TOWNSHIP_DOCTOR)
    client.post(
        "/patients/register/", _form(name="周杰", sex="M", birth_date="1968-04-09", local_number="A-1")
    )
    client.post("/accounts/switch/", {"membership": second.pk})
    client.post(
        "/patients/register/", _form(name="周杰", sex="M", birth_date="1968-04-09", local_number="A-2")
    )
    assert Registration.objects.get(local_number="A-1").institution_id == county.township.pk
    assert Registration.objects.get(local_number="A-2").institution_id == county.village.pk
    event = AuditEvent.objects.filter(verb="patient.register").latest("seq")
    assert event.institution_id == county.village.pk


def test_register_links_to_the_existing_resident(login_client, county, existing):
    response = login_client(Role.TOWNSHIP_DOCTOR).post(
        "/patients/register/",
        _form(name="刘秀英", sex="F", birth_date="1968-04-09", phone="13500000005"),
        follow=True,
    )
    registration = Registration.objects.latest("pk")
    assert registration.decision == "linked" and registration.patient_id == existing.pk
    assert registration.institution_id == county.township.pk
    assert "已关联到已有居民刘秀英" in _html(response)


def test_register_in_the_review_band_says_it_was_sent_to_review(login_client, county, existing):
    response = login_client(Role.TOWNSHIP_DOCTOR).post(
        "/patients/register/", _form(name="刘秀英", sex="F", birth_date="1968-09-04"), follow=True
    )
    assert MatchReview.objects.filter(candidate=existing, status="open").count() == 1
    assert "已送医共体办公室人工复核" in _html(response)


def test_a_wrong_check_character_is_flagged_on_the_result(login_client, county):
    bad = ID[:17] + ("0" if ID[17] != "0" else "1")
    response = login_client(Role.COUNTY_DOCTOR).post(
        "/patients/register/", _form(name="覃翊珩", sex="F", id_number=bad), follow=True
    )
    registration = Registration.objects.get(name="覃翊珩")
    assert registration.id_problem == "check" and registration.patient.id_number is None
    assert "身份证号校验位错误，已标记，未作为核验身份" in _html(response)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (_form(name="12345", phone="13800000000", address="东山村"), "name", "姓名"),
        (_form(name="张三", birth_date="2999-01-01", phone="13800000000"), "birth_date", "出生日期"),
        (_form(name="", phone="13800000000", address="东山村"), "name", "这个字段是必填项"),
        (_form(name="张三", birth_date="1968-13-40", phone="13800000000"), "birth_date", "有效的日期"),
        (
            _form(name="张三", village_code="441823999999", phone="13800000000"),
            "village_code",
            "选择一个有效的选项",
        ),
    ],
)
def test_bad_input_keeps_every_value_and_shows_the_error_on_its_field(
    login_client, county, data, field, message
):
    response = login_client(Role.COUNTY_DOCTOR).post("/patients/register/", data)
    assert response.status_code == 422
    html = _html(response)
    error = re.search(rf'data-testid="error-{field}">([^<]*)<', html)
    assert error and message in error.group(1), error
    assert 'value="13800000000"' in html  # what was typed is kept
    if data["address"]:
        assert f'value="{data["address"]}"' in html
    assert not Registration.objects.exists()
    assert _verbs("patient.register") == 0


def test_a_reused_local_number_with_other_details_is_a_conflict_on_its_field(login_client, county):
    client = login_client(Role.COUNTY_DOCTOR)
    client.post(
        "/patients/register/", _form(name="周杰", sex="M", birth_date="1968-04-09", local_number="MZ-1")
    )
    response = client.post(
        "/patients/register/", _form(name="周杰伦", sex="M", birth_date="1968-04-09", local_number="MZ-1")
    )
    assert response.status_code == 409
    assert re.search(r'data-testid="error-local_number">[^<]*已登记过其他信息', _html(response))
    assert 'value="周杰伦"' in _html(response)
    assert Registration.objects.filter(local_number="MZ-1").count() == 1


def test_the_same_registration_twice_changes_nothing(login_client, county):
    client = login_client(Role.COUNTY_DOCTOR)
    data = _form(name="周杰", sex="M", birth_date="1968-04-09", local_number="MZ-2")
    client.post("/patients/register/", data)
    again = client.post("/patients/register/", data, follow=True)
    assert Registration.objects.filter(local_number="MZ-2").count() == 1
    assert "未作任何更改" in _html(again)


def test_english_on_request(login_client, county, existing):
    client = login_client(Role.COUNTY_DOCTOR)
    client.cookies["django_language"] = "en"
    html = _html(
        client.post(
            "/patients/register/match/",
            _form(name="刘秀英", sex="F", birth_date="1968-09-04"),
            HTTP_HX_REQUEST="true",
        )
    )
    assert "Needs review by a person" in html and "day and month swapped" in html


# --- review queue and detail ----------------------------------------------------------------


def test_office_sees_the_queue_with_counts(login_client, county, review):
    client = login_client(Role.CONSORTIUM_OFFICE)
    response = client.get("/patients/reviews/")
    assert response.status_code == 200
    html = _html(response)
    assert html.count('data-testid="review-row"') == 1
    assert "刘秀英" in html and "1968-09-04" in html and "1968-04-09" in html
    assert "阳城镇卫生院" in html  # where the new registration came from
    assert re.search(r'data-testid="tab-open"[^>]*>[^<]*<span class="count">1</span>', html)
    assert 'data-testid="nav-reviews"' in _html(client.get("/"))
    assert 'data-testid="open-reviews">1<' in _html(client.get("/"))
    badge = client.get("/patients/reviews/count/", HTTP_HX_REQUEST="true")
    assert 'data-testid="open-review-count"' in _html(badge) and ">1<" in _html(badge)
    decided = client.get("/patients/reviews/", {"status": "same"})
    assert 'data-testid="review-row"' not in _html(decided)
    assert client.get("/patients/reviews/", {"status": "bogus", "page": "x"}).status_code == 200
    assert _verbs("patient.review_read") == 0  # the list is not a record read


def test_the_queue_paginates(login_client, county):
    for n, surname in enumerate("赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹"):
        name = f"{surname}秀英"
        birth, swapped = dt.date(1940 + n, 2, 7), dt.date(1940 + n, 7, 2)
        first = Entry(name=name, sex="F", birth_date=birth, phone=f"1350000{n:04d}")
        registration_create(actor=None, institution=county.lead, entry=first)
        registration_create(
            actor=None, institution=county.lead, entry=Entry(name=name, sex="F", birth_date=swapped)
        )
    assert MatchReview.objects.filter(status="open").count() == 26
    client = login_client(Role.CONSORTIUM_OFFICE)
    first_page = _html(client.get("/patients/reviews/"))
    assert first_page.count('data-testid="review-row"') == 25 and 'data-testid="pager"' in first_page
    assert _html(client.get("/patients/reviews/", {"page": 2})).count('data-testid="review-row"') == 1
    everything = _html(client.get("/patients/reviews/", {"status": "all", "page": 2}))
    assert everything.count('data-testid="review-row"') == 1


@pytest.mark.parametrize("role", NOT_STEWARDS)
def test_review_pages_are_the_offices(login_client, county, review, role):
    client = login_client(role)
    merge_count = Merge.objects.count()
    for response in (
        client.get("/patients/reviews/"),
        client.get(f"/patients/reviews/{review.pk}/"),
        client.get("/patients/reviews/count/"),
        client.post(f"/patients/reviews/{review.pk}/decide/", {"decision": "same"}),
        client.get("/patients/merges/"),
        client.post("/patients/merges/1/undo/"),
    ):
        assert response.status_code == 403, response
    assert 'data-testid="nav-reviews"' not in _html(client.get("/"))
    review.refresh_from_db()
    assert review.status == "open" and Merge.objects.count() == merge_count
    assert _verbs("patient.review_read") == 0 and _verbs("patient.review_decide") == 0


def test_review_detail_side_by_side_with_differences_marked_and_audited(login_client, county, review):
    response = login_client(Role.CONSORTIUM_OFFICE).get(f"/patients/reviews/{review.pk}/")
    assert response.status_code == 200
    html = _html(response)
    rows = dict(re.findall(r'<tr class="(\w+)" data-field="(\w+)"', html)[i][::-1] for i in range(7))
    assert rows["name"] == "same" and rows["sex"] == "same"
    assert rows["birth_date"] == "diff"  # 1968-09-04 against 1968-04-09
    assert rows["phone"] == "gap"  # missing on the new side: not evidence either way
    assert "≠" in html and "（不同）" in html
    assert "1968-09-04" in html and "1968-04-09" in html and "13500000005" in html
    assert 'data-testid="explain-table"' in html and "日月颠倒" in html
    assert 'data-testid="decide-same"' in html and 'data-testid="decide-different"' in html
    assert "阳城镇卫生院" in html and "县人民医院" in html  # each side's registration
    event = AuditEvent.objects.filter(verb="patient.review_read").get()
    assert event.actor_id == county.users[Role.CONSORTIUM_OFFICE].pk
    assert event.object_id == str(review.pk)


def test_unknown_review_is_404(login_client, county):
    client = login_client(Role.CONSORTIUM_OFFICE)
    assert client.get("/patients/reviews/999999/").status_code == 404
    assert client.post("/patients/reviews/999999/decide/", {"decision": "same"}).status_code == 404
    assert client.post("/patients/merges/999999/undo/").status_code == 404


def test_decide_needs_a_decision_and_a_post(login_client, county, review):
    client = login_client(Role.CONSORTIUM_OFFICE)
    assert client.get(f"/patients/reviews/{review.pk}/decide/").status_code == 405
    assert client.post(f"/patients/reviews/{review.pk}/decide/", {}).status_code == 422
    assert client.post(f"/patients/reviews/{review.pk}/decide/", {"decision": "maybe"}).status_code == 422
    review.refresh_from_db()
    assert review.status == "open"


def test_same_person_merges_then_undo_from_the_review_puts_it_back(login_client, county, review, existing):
    client = login_client(Role.CONSORTIUM_OFFICE)
    response = client.post(f"/patients/reviews/{review.pk}/decide/", {"decision": "same"}, follow=True)
    assert response.redirect_chain[-1][0] == "/patients/reviews/"
    assert "已合并" in _html(response)
    new = Patient.objects.get(pk=review.patient_id)
    assert new.merged_into_id == existing.pk
    merge = Merge.objects.get()
    assert _verbs("patient.review_decide") == 1 and _verbs("patient.merge") == 1

    detail = _html(client.get(f"/patients/reviews/{review.pk}/"))
    assert 'data-testid="decided"' in detail and "同一人" in detail
    assert 'data-testid="undo-merge"' in detail and 'data-testid="decide-same"' not in detail

    again = client.post(f"/patients/reviews/{review.pk}/decide/", {"decision": "different"}, follow=True)
    assert "该复核已作出决定" in _html(again)
    assert not NonMatch.objects.exists()

    back = client.post(
        f"/patients/merges/{merge.pk}/undo/", {"next": f"/patients/reviews/{review.pk}/"}, follow=True
    )
    assert back.redirect_chain[-1][0] == f"/patients/reviews/{review.pk}/"
    assert "已撤销合并" in _html(back)
    new.refresh_from_db()
    merge.refresh_from_db()
    assert new.merged_into_id is None and merge.undone_at is not None
    review.refresh_from_db()
    assert review.status == "open"
    assert _verbs("patient.unmerge") == 1
    event = AuditEvent.objects.filter(verb="patient.unmerge").get()
    assert event.actor_id == county.users[Role.CONSORTIUM_OFFICE].pk


def test_different_people_is_remembered(login_client, county, review):
    client = login_client(Role.CONSORTIUM_OFFICE)
    response = client.post(f"/patients/reviews/{review.pk}/decide/", {"decision": "different"}, follow=True)
    assert "不同的人" in _html(response)
    assert NonMatch.objects.filter(review=review).exists()
    assert not Merge.objects.exists()
    review.refresh_from_db()
    assert review.status == "different"
    event = AuditEvent.objects.filter(verb="patient.review_decide").get()
    assert event.after is not None and event.after["status"] == "different"
    detail = _html(client.get(f"/patients/reviews/{review.pk}/"))
    assert 'data-testid="undo-merge"' not in detail and 'data-testid="decide-same"' not in detail


def test_merge_history_lists_merges_and_undoes_one(login_client, county, review):
    client = login_client(Role.CONSORTIUM_OFFICE)
    empty = _html(client.get("/patients/merges/"))
    assert 'data-testid="merge-row"' not in empty
    client.post(f"/patients/reviews/{review.pk}/decide/", {"decision": "same"})
    merge = Merge.objects.get()
    listing = _html(client.get("/patients/merges/"))
    assert listing.count('data-testid="merge-row"') == 1 and 'data-testid="undo-merge"' in listing
    response = client.post(
        f"/patients/merges/{merge.pk}/undo/", {"next": "https://evil.example/"}, follow=True
    )
    assert response.redirect_chain[-1][0] == "/patients/merges/"  # no open redirect
    html = _html(response)
    assert "已撤销合并" in html and 'data-testid="undo-merge"' not in html
    twice = client.post(f"/patients/merges/{merge.pk}/undo/", follow=True)
    assert "该合并已撤销" in _html(twice)
    assert _verbs("patient.unmerge") == 1


def test_a_second_click_on_register_files_the_person_once(login_client, county):
    client = login_client(Role.COUNTY_DOCTOR)
    page = client.get("/patients/register/").content.decode()
    key = page.split('name="submission" value="')[1][:32]
    form = _form(name="覃小明", sex="M", birth_date="1990-01-05", submission=key)
    client.post("/patients/register/", form)
    client.post("/patients/register/", form)
    assert Registration.objects.filter(name="覃小明").count() == 1
    assert Registration.objects.get(name="覃小明").local_number == f"desk-{key}"
    client.post("/patients/register/", {**form, "submission": "not-a-key"})  # a bad key is refused
    assert Registration.objects.filter(name="覃小明").count() == 1
