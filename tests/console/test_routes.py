"""The console's routes take their officer and configuration as FastAPI dependencies (a test or another
front end overrides them), and say refusals in French from the error's code, never from its English text."""
from fastapi.testclient import TestClient

from console import web
from console.app import create_app
from gateway.errors import ErrorCode, GatewayError


def test_a_page_is_served_to_the_officer_a_dependency_override_provides(world):
    application = create_app(world["config"])
    client = TestClient(application)
    assert client.get("/review", follow_redirects=False).status_code == 303          # no login: sent to /login
    application.dependency_overrides[web.VIEW] = lambda: "agent-test"
    page = client.get("/review")
    assert page.status_code == 200 and "Content-Security-Policy" in page.headers


def test_a_refusal_is_said_from_its_code_not_from_its_english_message():
    coded = GatewayError("anything at all @ somewhere", code=ErrorCode.LAST_ADMIN)
    assert web.french(coded).startswith("C'est le dernier administrateur actif")
    uncoded = GatewayError("last admin @ ada: expected another active admin first")
    assert web.french(uncoded) == "Action refusée : last admin @ ada: expected another active admin first"


def test_an_error_keeps_its_code_across_pickling():
    import pickle
    from corrections.errors import ConcurrentUpdateError
    assert pickle.loads(pickle.dumps(GatewayError("x", code=ErrorCode.SUPERSEDED))).code is ErrorCode.SUPERSEDED
    assert pickle.loads(pickle.dumps(ConcurrentUpdateError("y"))).code is ErrorCode.CONCURRENT_UPDATE
