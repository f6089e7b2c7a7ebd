from yigongti.core.audit import verify_chain


def test_small_county_builds_and_audits(county):
    report = verify_chain()
    assert report.problem is None
    assert report.rows > 20


def test_home_requires_login(client, db):
    response = client.get("/")
    assert response.status_code == 302


def test_office_home(login_client):
    c = login_client("consortium_office")
    assert c.get("/").status_code == 200
    r = c.get("/api/institutions/441823101000")
    assert r.status_code == 200, r.content
    assert c.get("/api/institutions/999999999999").json()["code"] == "not_found"


def test_unknown_api_path_is_a_json_404(client, db):
    response = client.get("/api/no/such/thing")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
