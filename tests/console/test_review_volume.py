"""The review queue at the volume of real months: seven monthly runs of a 1,000-person generated history (40
employers, so that late declarations raise overpayments above the cap), read through the console. Paged, filtered
and sorted on the server; decided and assigned in bulk by a supervisor, with one audit event per item; an officer
is never offered an action their role cannot take."""
import re
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from console.app import ConsoleConfig, create_app
from console.data import REVIEW_PAGE_SIZE, review_queue
from console.users import add_user, audit_trail
from corrections.cli import open_store
from fixtures.generator import generate
from gateway.options import Settings
from gateway.pseudonym import DEMO_KEY
from gateway.run import run
from tests.console.conftest import PASSWORDS, ROLES, csrf_of

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"


@pytest.fixture(scope="module")
def volume(tmp_path_factory):
    root = tmp_path_factory.mktemp("volume")
    flows, out = root / "flows", root / "out"
    generate(flows, people=1000, employers=40, bodies=2, months=7, seed=19)
    for folder in sorted(p for p in flows.iterdir() if p.is_dir()):
        run(Settings((str(folder),), str(out), DEMO_KEY))
    store = open_store(out, None)
    for name, role in ROLES.items():
        add_user(store, name, PASSWORDS[name], role)
    add_user(store, "sue", "supervisor-password-2", "supervisor")
    config = ConsoleConfig(out=out, store=store, pseudonym_key=DEMO_KEY, secret="test-secret")
    return {"out": out, "store": store, "config": config, "app": create_app(config)}


def _client(volume, name: str, password: str | None = None) -> tuple[TestClient, str]:
    client = TestClient(volume["app"], follow_redirects=False)
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": name, "password": password or PASSWORDS[name], "csrf": token})
    assert response.status_code == 303, response.text
    return client, csrf_of(client.get("/").text)


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr id="d-([0-9a-f]{24})">', html)


def test_the_first_page_of_a_real_months_queue_is_small_and_paged(volume):
    waiting = len(review_queue(volume["config"].register))
    assert waiting > REVIEW_PAGE_SIZE                      # enough to need pages
    client, _ = _client(volume, "sam")
    first = client.get("/review")
    assert first.status_code == 200 and len(first.content) < 200_000
    assert len(_rows(first.text)) == REVIEW_PAGE_SIZE and f"{waiting} décision(s) en attente" in first.text
    assert 'rel="next"' in first.text and "Page 1 sur" in first.text
    second = client.get("/review?page=2")
    assert not set(_rows(first.text)) & set(_rows(second.text)) and 'rel="prev"' in second.text
    # Amounts in euros, French format; months in French; each row names its claimant with a link to their page.
    assert re.search(r"[0-9]\u202f?[0-9]*,[0-9]{2} €", first.text) and "2025" in first.text
    assert first.text.count('action="/person/open"') == REVIEW_PAGE_SIZE


def test_filters_and_sort_are_applied_on_the_server(volume):
    client, _ = _client(volume, "sam")
    queue = review_queue(volume["config"].register)
    benefit = sorted({d["benefit"] for d in queue})[0]
    expected = sorted((d for d in queue if d["benefit"] == benefit), key=lambda d: (d["estimated_impact_cents"],
                                                                                     d["decision_id"]))
    page = client.get(f"/review?benefit={benefit}&sort=amount")
    assert _rows(page.text) == [d["decision_id"] for d in expected][:REVIEW_PAGE_SIZE]
    large = [d["decision_id"] for d in sorted(queue, key=lambda d: (d["estimated_impact_cents"], d["decision_id"]))
             if 100000 <= -d["estimated_impact_cents"] < 300000]
    assert _rows(client.get("/review?band=1000-3000").text) == large[:REVIEW_PAGE_SIZE]
    none = client.get("/review?declarant=000000000")
    assert _rows(none.text) == [] and "Aucune décision en attente ne correspond à ces filtres" in none.text
    hostile = client.get("/review?benefit=<script>x</script>&sort=');drop&declarant=\"><img>&page=-4")
    assert hostile.status_code == 200 and "<script>x" not in hostile.text and "<img>" not in hostile.text
    assert _rows(hostile.text) == _rows(client.get("/review").text)       # unknown values are dropped


def test_an_officer_sees_the_queue_but_no_action_they_cannot_take(volume):
    client, token = _client(volume, "olga")
    page = client.get("/review")
    assert page.status_code == 200 and _rows(page.text)
    assert 'name="ids"' not in page.text and "/review/bulk" not in page.text and "/review/assign" not in page.text
    assert 'id="read-only"' in page.text
    decision = _rows(page.text)[0]
    refused = client.post("/review/bulk", data={"csrf": token, "ids": [decision], "action": "keep-frozen",
                                                "reason": "Décision prise sans en avoir le droit."})
    assert refused.status_code == 403 and decision in {d["decision_id"] for d in review_queue(volume["config"].register)}


def test_a_bulk_decision_with_one_reason_records_one_audit_event_per_item(volume):
    client, token = _client(volume, "sam")
    chosen = _rows(client.get("/review?sort=age").text)[:3]
    before = len(review_queue(volume["config"].register))
    reason = "Erreurs manifestes de l'employeur, signalées par la caisse."
    response = client.post("/review/bulk", data={"csrf": token, "ids": chosen, "action": "keep-frozen",
                                                 "reason": reason})
    assert response.status_code == 200 and "3 décision(s) enregistrée(s)" in response.text
    assert len(review_queue(volume["config"].register)) == before - 3
    events = [e for e in audit_trail(volume["store"]) if e.target in chosen and e.action == "decide:keep-frozen"]
    assert sorted(e.target for e in events) == sorted(chosen) and {(e.username, e.outcome, e.reason) for e in events} \
        == {("sam", "ok", reason)}
    again = client.post("/review/bulk", data={"csrf": token, "ids": chosen[:1], "action": "regularise", "reason": reason})
    assert again.status_code == 409 and "déjà été prise" in again.text


def test_a_supervisor_assigns_items_and_finds_them_under_my_items(volume):
    client, token = _client(volume, "sam")
    chosen = _rows(client.get("/review?sort=benefit").text)[:2]
    assert client.post("/review/assign", data={"csrf": token, "ids": chosen, "assignee": "sue"}).status_code == 303
    sue, _ = _client(volume, "sue", "supervisor-password-2")
    assert sorted(_rows(sue.get("/review?assignee=me").text)) == sorted(chosen)
    assert _rows(client.get("/review?assignee=me").text) == []
    refused = client.post("/review/assign", data={"csrf": token, "ids": chosen, "assignee": "olga"})
    assert refused.status_code == 409 and "superviseur" in refused.text
    assert [e.outcome for e in audit_trail(volume["store"]) if e.action == "assign" and e.target in chosen] == ["ok", "ok"]


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium from the OS packages (.ci/run installs it)")
def test_in_a_browser_a_supervisor_filters_ticks_and_decides(volume):
    import socket
    import threading
    import time

    import uvicorn
    from playwright.sync_api import sync_playwright
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(volume["app"], host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{base}/login")
            page.fill("input[name=username]", "sam")
            page.fill("input[name=password]", PASSWORDS["sam"])
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/")
            response = page.goto(f"{base}/review")
            assert len(response.body()) < 200_000
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "review-volume.png"), full_page=False)
            page.select_option("select[name=sort]", "age")
            page.click("#filters button[type=submit]")
            page.wait_for_url(re.compile(r".*sort=age.*"))
            rows = page.locator("#queue tbody tr")
            assert rows.count() == REVIEW_PAGE_SIZE
            ticked = [rows.nth(i).get_attribute("id")[2:] for i in range(2)]
            for i in range(2):
                rows.nth(i).locator("input[name=ids]").check()
            page.locator("#act input[value=spread]").check()
            page.locator("#act textarea[name=reason]").fill("Étalement accordé : charges de famille déclarées.")
            page.locator("#act button[type=submit]:not([formaction])").click()
            assert "2 décision(s) enregistrée(s)" in page.locator("main").inner_text()
            waiting = {d["decision_id"] for d in review_queue(volume["config"].register)}
            assert not set(ticked) & waiting
            browser.close()
    finally:
        server.should_exit = True
        thread.join(10)
