"""Hostile values in every field a console page shows that comes from a file (quarantine: SIREN, NIC, file
name), a form (login name, a request's reason and documents, an officer's note) or a URL (filters): every
page renders them escaped, and every response carries the security headers."""
import pytest
from fastapi.testclient import TestClient

from console.app import ConsoleConfig, SECURITY_HEADERS, create_app
from console.users import add_user
from corrections.cli import open_store
from fixtures.hostile import hostile_value_files
from gateway.options import Settings
from gateway.pseudonym import DEMO_KEY
from gateway.run import run
from tests.console.conftest import csrf_of

MARKERS = ("<svg onload", "<script>alert", "<img src=x onerror", "\"><script")
PASSWORD = "admin-password-12"


@pytest.fixture(scope="module")
def hostile_world(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile-console")
    hostile_value_files(root / "flows")
    out = root / "out"
    run(Settings((str(root / "flows"),), str(out), DEMO_KEY, as_of="2025-04-10T00:00:00Z"))
    store = open_store(out, None)
    add_user(store, "ada", PASSWORD, "admin")
    add_user(store, "olga", PASSWORD, "officer")
    request_id = store.open(person_key="p" * 32, nir=None, declarant_id="<svg onload=alert(1)>", flow="DSN",
                            nature="SALARY", months={"2025-03": (100, 200)}, reason="<script>alert('r')</script>",
                            documents="<img src=x onerror=alert(1)>", officer="olga", at="2025-04-11T09:00:00Z")
    config = ConsoleConfig(out=out, store=store, pseudonym_key=DEMO_KEY, secret="test-secret")
    return {"config": config, "request_id": request_id}


def _login(client, name: str) -> None:
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": name, "password": PASSWORD, "csrf": token})
    assert response.status_code == 303, response.text


def _assert_safe(response) -> None:
    for header, value in SECURITY_HEADERS.items():
        assert response.headers.get(header) == value, (response.url, header)
    for marker in MARKERS:
        assert marker not in response.text, (response.url, marker)


@pytest.mark.parametrize("name", ["ada", "olga"])
def test_every_page_escapes_hostile_values_and_sends_the_security_headers(hostile_world, name):
    client = TestClient(create_app(hostile_world["config"]), follow_redirects=False)
    token = csrf_of(client.get("/login").text)
    refused = client.post("/login", data={"username": "<script>alert('u')</script>", "password": "x", "csrf": token})
    assert refused.status_code == 401
    _assert_safe(refused)
    _login(client, name)
    request_id = hostile_world["request_id"]
    pages = ["/", "/quarantine", "/review", "/requests", f"/requests/{request_id}", "/person", "/users",
             "/requests?declarant=%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
             "/requests?state=%3Csvg%20onload%3Dalert(1)%3E", "/requests/%3Cscript%3Ealert(1)%3C%2Fscript%3E",
             "/quarantine?declarant=%3Csvg%20onload%3Dalert(1)%3E"]
    shown = 0
    for path in pages:
        response = client.get(path)
        assert response.status_code in (200, 403, 404, 405), (path, response.status_code)
        _assert_safe(response)
        shown += "&lt;svg onload" in response.text or "&lt;script&gt;alert" in response.text
    assert shown >= 2          # the hostile values are on the pages, as text


def test_the_login_page_and_redirects_carry_the_security_headers(hostile_world):
    client = TestClient(create_app(hostile_world["config"]), follow_redirects=False)
    for response in (client.get("/login"), client.get("/"), client.get("/health")):
        for header, value in SECURITY_HEADERS.items():
            assert response.headers.get(header) == value
