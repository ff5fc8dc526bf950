"""The console in a real browser (Playwright driving the OS's headless Chromium): log in, dashboard,
decide a REVIEW_CAP item, move a correction request through its states, look a person up. Screenshots
of the main pages go to test-artifacts/console/."""
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from console.app import create_app
from console.data import review_queue
from fixtures import scenario
from corrections.states import LABELS, State
from tests.console.conftest import PASSWORDS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium from the OS packages (.ci/run installs it)")


@pytest.fixture(scope="module")
def server(world):
    import uvicorn
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    instance = uvicorn.Server(uvicorn.Config(create_app(world["config"]), host="127.0.0.1", port=port,
                                             log_level="warning", access_log=False))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    for _ in range(100):
        if instance.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield instance
        instance.close()


def _login(browser, server, name):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{server}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORDS[name])
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")
    return page


def test_a_supervisor_logs_in_sees_the_dashboard_and_decides_a_capped_overpayment(browser, server, world):
    page = _login(browser, server, "sam")
    assert page.locator("#floating-rate").inner_text().endswith("%")
    page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)
    page.goto(f"{server}/quarantine")
    page.screenshot(path=str(SHOTS / "quarantine.png"), full_page=True)
    page.goto(f"{server}/review")
    before = len(review_queue(world["config"].register))
    page.screenshot(path=str(SHOTS / "review.png"), full_page=True)
    page.locator("#queue tbody tr input[name=ids]").first.check()
    page.locator("#act input[value=spread]").check()
    page.locator("#act textarea[name=reason]").fill("Étalement accordé : charges de famille déclarées.")
    page.locator("#act button[type=submit]:not([formaction])").click()
    assert "Décisions enregistrées" in page.locator("h1").inner_text()
    assert len(review_queue(world["config"].register)) == before - 1


def test_an_officer_moves_a_correction_request_through_its_states(browser, server, world):
    page = _login(browser, server, "olga")
    page.goto(f"{server}/requests")
    page.click(f"text={world['request_id']}")
    for action, state in (("route", "ROUTED"), ("ack", "ACKNOWLEDGED"), ("reject", "REJECTED"), ("close", "CLOSED")):
        form = page.locator(f"#form-{action}")
        if action == "reject":
            form.locator("textarea[name=reason]").fill("L'employeur confirme la prime d'avril.")
        form.locator("button[type=submit]").click()
        assert page.locator("#state").get_attribute("data-state") == state
        assert page.locator("#state").inner_text() == LABELS[State(state)]          # in French
        if action == "route":
            page.screenshot(path=str(SHOTS / "request.png"), full_page=True)
    assert "demande close" in page.locator("#timeline").inner_text()
    assert world["store"].get(world["request_id"]).state == "CLOSED"


def test_an_officer_looks_a_person_up_by_nir_and_sees_the_timeline(browser, server):
    page = _login(browser, server, "olga")
    page.goto(f"{server}/person")
    page.fill("input[name=nir]", scenario.CAMILLE.nir)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{server}/person/view")
    assert scenario.CAMILLE.nir not in page.url and scenario.CAMILLE.nir not in page.content()
    assert page.locator("svg").count() >= 1 and "FLT-" in page.content()
    page.screenshot(path=str(SHOTS / "person.png"), full_page=True)
