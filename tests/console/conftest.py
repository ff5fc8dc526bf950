"""A console over the correction scenario's outputs, with one user per role."""
import re

import pytest
from fastapi.testclient import TestClient

from console.app import ConsoleConfig, create_app
from console.users import add_user
from corrections.cli import open_store
from fixtures import scenario
from gateway.pseudonym import DEMO_KEY

PASSWORDS = {"olga": "officer-password-1", "sam": "supervisor-password-1", "ada": "admin-password-12"}
ROLES = {"olga": "officer", "sam": "supervisor", "ada": "admin"}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("console")
    scenario.run_scenario(root)
    out = root / "out"
    store = open_store(out, None)
    for name, role in ROLES.items():
        add_user(store, name, PASSWORDS[name], role)
    request_id = store.open(person_key=_person_key(scenario.CAMILLE.nir), nir=scenario.CAMILLE.nir,
                            declarant_id=scenario.UNDERSTATED, flow="DSN", nature="SALARY",
                            months={"2025-04": (208000, 210000)}, reason="Prime d'avril oubliée.",
                            documents="bulletin d'avril", officer="olga", at="2025-07-05T09:00:00Z")
    config = ConsoleConfig(out=out, store=store, pseudonym_key=DEMO_KEY, secret="test-secret")
    return {"out": out, "store": store, "config": config, "request_id": request_id}


def _person_key(nir: str) -> str:
    from gateway.pseudonym import Pseudonymiser
    return Pseudonymiser(DEMO_KEY).person_key(nir, None, None)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html)[1]


@pytest.fixture
def client(world):
    return TestClient(create_app(world["config"]), follow_redirects=False)


def login(client, name: str) -> str:
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": name, "password": PASSWORDS[name], "csrf": token})
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/").text)


