"""Sessions the server can end, and logins that cannot be hammered: logout and deactivation end every session
of the user at once, the role is read from the store on every request, an admin cannot lock everybody out,
repeated wrong passwords lock the account, and a burst from one address is throttled."""
import asyncio

import httpx
from fastapi.testclient import TestClient

from console.routes import auth as auth_routes
from console.app import create_app
from console.data import review_queue
from console.users import add_user, audit_trail
from tests.console.conftest import PASSWORDS, csrf_of, login


def _decide(client, world, token: str):
    decision = review_queue(world["config"].register)[0]["decision_id"]
    return client.post(f"/review/{decision}", data={"csrf": token, "action": "keep-frozen",
                                                    "reason": "Base gardée après examen du dossier."})


def test_a_cookie_saved_before_logout_no_longer_works(world):
    client = TestClient(create_app(world["config"]), follow_redirects=False)
    token = login(client, "olga")
    saved = dict(client.cookies)
    assert client.post("/logout", data={"csrf": token}).status_code == 303
    thief = TestClient(create_app(world["config"]), follow_redirects=False, cookies=saved)
    response = thief.get("/requests")
    assert response.status_code == 303 and response.headers["location"] == "/login"


def test_a_deactivated_supervisor_open_session_can_no_longer_decide(world):
    supervisor = TestClient(create_app(world["config"]), follow_redirects=False)
    token = login(supervisor, "sam")
    admin = TestClient(create_app(world["config"]), follow_redirects=False)
    admin_token = login(admin, "ada")
    queue = len(review_queue(world["config"].register))
    assert admin.post("/users/sam/deactivate", data={"csrf": admin_token}).status_code == 303
    response = _decide(supervisor, world, token)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert len(review_queue(world["config"].register)) == queue
    assert admin.post("/users/sam/activate", data={"csrf": admin_token}).status_code == 303
    assert login(supervisor, "sam")


def test_an_admin_cannot_deactivate_themself_nor_the_last_admin(world):
    admin = TestClient(create_app(world["config"]), follow_redirects=False)
    token = login(admin, "ada")
    refused = admin.post("/users/ada/deactivate", data={"csrf": token})
    assert refused.status_code == 400 and "propre compte" in refused.text
    add_user(world["store"], "ava", "second-admin-password", "admin")
    other = TestClient(create_app(world["config"]), follow_redirects=False)
    token_other = csrf_of(other.get("/login").text)
    other.post("/login", data={"username": "ava", "password": "second-admin-password", "csrf": token_other})
    token_other = csrf_of(other.get("/users").text)
    assert other.post("/users/ada/deactivate", data={"csrf": token_other}).status_code == 303
    last = other.post("/users/ava/deactivate", data={"csrf": token_other})
    assert last.status_code == 400                              # herself, and the last active admin
    assert other.post("/users/ada/activate", data={"csrf": token_other}).status_code == 303


def test_repeated_wrong_passwords_lock_the_account_with_a_french_message(world):
    add_user(world["store"], "lou", "lou-password-123", "officer")
    client = TestClient(create_app(world["config"]), follow_redirects=False)
    token = csrf_of(client.get("/login").text)
    for _ in range(5):
        assert client.post("/login", data={"username": "lou", "password": "wrong", "csrf": token}).status_code == 401
    locked = client.post("/login", data={"username": "lou", "password": "lou-password-123", "csrf": token})
    assert locked.status_code == 429 and "bloqué" in locked.text
    assert any(a.username == "lou" and a.outcome == "locked" for a in audit_trail(world["store"]))


def test_a_burst_of_logins_from_one_address_is_throttled(world):
    client = TestClient(create_app(world["config"]), follow_redirects=False)
    token = csrf_of(client.get("/login").text)
    codes = [client.post("/login", data={"username": f"nobody{i}", "password": "x", "csrf": token}).status_code
             for i in range(12)]
    assert codes[:10] == [401] * 10 and codes[10:] == [429, 429]
    right = client.post("/login", data={"username": "olga", "password": PASSWORDS["olga"], "csrf": token})
    assert right.status_code == 429 and "réessayez" in right.text


def test_other_requests_are_answered_while_a_password_is_being_checked(world, monkeypatch):
    """The password check runs off the event loop: a request arriving during a slow check is answered first."""
    import time
    real = auth_routes.authenticate
    finished: list[str] = []

    def slow(*args, **kwargs):
        time.sleep(0.5)
        return real(*args, **kwargs)
    monkeypatch.setattr(auth_routes, "authenticate", slow)
    application = create_app(world["config"])

    async def scenario():
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            token = csrf_of((await client.get("/login")).text)

            async def log_in():
                await client.post("/login", data={"username": "olga", "password": PASSWORDS["olga"], "csrf": token})
                finished.append("login")

            async def health():
                await asyncio.sleep(0.1)
                await client.get("/health")
                finished.append("health")
            await asyncio.gather(log_in(), health())
    asyncio.run(scenario())
    assert finished == ["health", "login"]
