"""The console over HTTP: login everywhere, roles checked on the server, CSRF on every form, clear pages
for bad input, nothing personal in URLs or logs."""
import html

import pytest

from console.data import review_queue
from console.users import audit_trail
from fixtures import scenario
from tests.console.conftest import csrf_of, login

PAGES = ["/", "/runs", "/quarantine", "/review", "/requests", "/person", "/person/view", "/person/export",
         "/person/export.html", "/person/export.pdf", "/users", "/declarants/inconnu", "/declarants/inconnu.pdf"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_needs_a_login(client, path):
    response = client.get(path)
    assert response.status_code == 303 and response.headers["location"] == "/login"


def _actions(world):
    decision = review_queue(world["config"].register)[0]["decision_id"]
    request_id = world["request_id"]
    return [(f"/review/{decision}", {"action": "keep-frozen", "reason": "Décision de test suffisante."}, "decide"),
            (f"/requests/{request_id}/route", {"revision": "1"}, "act"),
            (f"/requests/{request_id}/force", {"revision": "1", "value": "2025-04=2100", "evidence": "x",
                                                "reason": "Justification suffisante."}, "decide"),
            ("/person/request", {"line": f"{scenario.SILENT}|SALARY|2025-03", "claimed": "1500",
                                 "reason": "Montant contesté."}, "act"),
            ("/users", {"username": "eve", "password": "a-long-password-1", "role": "admin"}, "users"),
            ("/users/olga/deactivate", {}, "users")]


def test_every_action_is_refused_to_an_anonymous_user_and_changes_nothing(world, client):
    before = (len(review_queue(world["config"].register)), world["store"].get(world["request_id"]).state)
    for path, values, _ in _actions(world):
        response = client.post(path, data={**values, "csrf": "x"})
        assert response.status_code == 303 and response.headers["location"] == "/login", path
    assert (len(review_queue(world["config"].register)), world["store"].get(world["request_id"]).state) == before


@pytest.mark.parametrize("name", ["olga", "sam", "ada"])
def test_every_action_is_refused_to_a_user_without_its_role(world, client, name):
    from tests.console.conftest import ROLES
    allowed = {"officer": {"act"}, "supervisor": {"act", "decide"}, "admin": {"users"}}[ROLES[name]]
    token = login(client, name)
    before = (len(review_queue(world["config"].register)), world["store"].get(world["request_id"]).state)
    for path, values, permission in _actions(world):
        if permission in allowed:
            continue
        response = client.post(path, data={**values, "csrf": token})
        assert response.status_code == 403 and "Accès refusé" in response.text, (name, path)
    assert (len(review_queue(world["config"].register)), world["store"].get(world["request_id"]).state) == before


def test_a_forged_or_missing_csrf_token_changes_nothing(world, client):
    login(client, "olga")
    for token in ("forged", None):
        data = {"revision": "1"} | ({"csrf": token} if token else {})
        response = client.post(f"/requests/{world['request_id']}/route", data=data)
        assert response.status_code == 403 and "jeton de sécurité" in response.text
    assert world["store"].get(world["request_id"]).state == "OPEN"


def test_a_wrong_password_is_refused_and_audited(world, client):
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": "olga", "password": "wrong", "csrf": token})
    assert response.status_code == 401 and "incorrect" in response.text
    assert any(a.action == "login" and a.outcome == "refused" for a in audit_trail(world["store"]))


def test_an_unknown_id_in_a_url_is_a_clear_page(client):
    login(client, "sam")
    for path in ("/requests/REQ-0000", "/nothing-here"):
        response = client.get(path)
        text = html.unescape(response.text)        # autoescape writes the apostrophe as &#39;
        assert response.status_code == 404 and "n'existe pas" in text and "Traceback" not in text
    token = csrf_of(client.get("/").text)
    response = client.post("/review/000000000000000000000000", data={"csrf": token, "action": "regularise",
                                                                     "reason": "Décision sur un id inconnu."})
    assert response.status_code == 404


def test_a_nir_with_a_bad_key_is_refused_and_a_good_one_is_looked_up_without_a_nir_in_the_url(client):
    token = login(client, "olga")
    nir = scenario.CAMILLE.nir
    bad_key = nir + f"{(97 - int(nir) % 97 + 1) % 97:02d}"
    response = client.post("/person", data={"nir": bad_key, "csrf": token})
    assert response.status_code == 400 and "clé de ce numéro est incorrecte" in response.text
    response = client.post("/person", data={"nir": nir, "csrf": token})
    assert response.status_code == 303 and response.headers["location"] == "/person/view"
    page = client.get("/person/view").text
    assert nir not in page, page[max(0, page.find(nir) - 200):page.find(nir) + 20] and "2 75 02 ** *** ***" in page and "REVIEW_CAP" in page and "<svg" in page
    export = client.get("/person/export")
    assert export.status_code == 200 and nir not in export.text and '"versions"' in export.text


def test_a_stale_form_for_an_item_decided_by_someone_else_says_so_and_changes_nothing(world, client):
    token = login(client, "sam")
    decision = review_queue(world["config"].register)[-1]["decision_id"]
    values = {"csrf": token, "action": "keep-frozen", "reason": "Premier agent : base gardée."}
    assert client.post(f"/review/{decision}", data=values).status_code == 200
    again = client.post(f"/review/{decision}", data={**values, "action": "regularise"})
    assert again.status_code == 409 and "déjà été prise" in again.text
    stale = client.post(f"/requests/{world['request_id']}/ack", data={"csrf": token, "revision": "99"})
    assert stale.status_code == 409 and "modifié cette demande" in stale.text


def test_no_console_page_shows_a_nir_a_name_or_a_birth_date(world, client):
    """Personal-data scan of every console page an officer or admin can open, the export included."""
    people = (scenario.ALICE, scenario.BRUNO, scenario.CAMILLE)
    needles = [p.nir for p in people] + [p.last_name for p in people] + [p.birth.strftime("%d%m%Y") for p in people] \
        + [p.birth.isoformat() for p in people]
    pages = []
    for name in ("sam", "ada"):
        token = login(client, name)
        requests = [r.request_id for r in world["store"].list()]
        client.post("/person", data={"nir": scenario.CAMILLE.nir, "csrf": token})
        for path in ["/", "/runs", "/quarantine", "/review", "/requests", "/person", "/person/view", "/person/export",
                     "/person/export.html", "/users", *(f"/requests/{r}" for r in requests)]:
            response = client.get(path)
            pages.append((path, response.text))
    hits = [(path, needle) for path, text in pages for needle in needles if needle in text]
    print(f"console scan: {len(needles)} personal values searched in {len(pages)} pages: {len(hits)} hits")
    assert hits == [] and len(pages) >= 16


def test_an_unknown_review_action_is_named_as_such(world, client):
    token = login(client, "sam")
    from gateway.versioning.store import load_all
    decision = next(d["decision_id"] for d in load_all(world["config"].register, "decisions")
                    if d["kind"] == "REVIEW_CAP")            # answered by another test or not: the action is refused first
    response = client.post(f"/review/{decision}", data={"csrf": token, "action": "delete-everything",
                                                        "reason": "Action inventée pour le test."})
    assert response.status_code == 409 and "Action inconnue" in html.unescape(response.text)
    assert "étalement" not in html.unescape(response.text)


def test_the_right_of_access_export_reads_as_a_french_document(world, client):
    """Alice's data as she can read it: months in words, amounts in euros, causes and decisions in French; no
    code, no cents, no full NIR."""
    token = login(client, "olga")
    client.post("/person", data={"nir": scenario.ALICE.nir, "csrf": token})
    document = client.get("/person/export.html")
    text = document.text
    assert document.status_code == 200 and "Vos données dans la passerelle des ressources" in text
    assert "février 2025" in text and "3\u202f000,00 €" in text and "2\u202f080,00 €" in text
    assert "régularisation du montant net social" in text
    assert "_cents" not in text and "NET_SOCIAL_CORRECTION" not in text and scenario.ALICE.nir not in text
    assert "en attente : demande de correction en cours" in text and "droit recalculé avec les nouvelles valeurs" in text
    pdf = client.get("/person/export.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    import io

    import pypdf
    printed = " ".join(" ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf.content)).pages).split())
    assert "Vos données dans la passerelle des ressources" in printed and "février 2025" in printed
    assert scenario.ALICE.nir not in printed


def test_an_officer_opens_a_correction_request_from_the_claimants_page(world, client):
    """The page offers the person's months; the request opens on the register's amount and the claimant's one,
    is audited, and a forged month or a bad amount is refused in French with nothing opened."""
    import re as regex
    store = world["store"]
    token = login(client, "olga")
    client.post("/person", data={"nir": scenario.BRUNO.nir, "csrf": token})
    page = client.get("/person/view").text
    assert 'id="open-request"' in page
    line = f"{scenario.SILENT}|SALARY|2025-03"
    assert f'value="{line}"' in page and "mars 2025" in page
    before = len(store.list())
    for forged in ({"line": "../../etc|<script>|2025-03", "claimed": "1500"},
                   {"line": line, "claimed": "mille euros"}, {"line": line, "claimed": "1500", "reason": " "}):
        refused = client.post("/person/request", data={"reason": "Montant contesté.", **forged, "csrf": token})
        assert refused.status_code == 409 and "Demande non ouverte" in refused.text and "<script>" not in refused.text
    assert len(store.list()) == before
    opened = client.post("/person/request", data={"line": line, "claimed": "1 500,00", "reason": "Bulletin de mars.",
                                                  "documents": "bulletin de mars", "csrf": token})
    assert opened.status_code == 303, opened.text
    request_id = regex.fullmatch(r"/requests/(REQ-[0-9a-f]+)", opened.headers["location"])[1]
    request = store.get(request_id)
    assert request.opened_by == "olga" and request.declarant_id == scenario.SILENT
    assert [(m.month, m.claimed_cents) for m in request.months] == [("2025-03", 150000)]
    assert ("olga", "request:open", request_id, "ok", "console") in [
        (a.username, a.action, a.target, a.outcome, a.channel) for a in audit_trail(store, 50)]
    login(client, "ada")
    client.post("/person", data={"nir": scenario.BRUNO.nir, "csrf": csrf_of(client.get("/").text)})
    assert 'id="open-request"' not in client.get("/person/view").text      # an admin may not act on requests


def test_a_request_page_shows_the_letters_sent_to_the_source_with_the_nir_masked(world, client):
    """The notice and the reminder the source received, from the outbox: recipient, date, months, what to do."""
    login(client, "olga")
    forced = next(r for r in world["store"].list(declarant=scenario.SILENT) if r.opened_by == "agent-7")
    page = client.get(f"/requests/{forced.request_id}").text
    assert "Avis du 2025-05-03" in page and "Demande de correction de ressources déclarées" in page
    assert scenario.BRUNO.nir not in page and "février 2025 : déclaré" in page
    fresh = client.get(f"/requests/{world['request_id']}").text
    assert "Aucun avis envoyé" in fresh


def test_the_quarantine_page_opens_each_declarants_report_and_its_pdf(world, tmp_path):
    """A declarant's name links to its report by the report's file name; the page and its PDF come from the
    latest run; a name that is not a report's is a 404, never a path."""
    import io
    import re as regex
    from dataclasses import replace

    import pypdf
    from fastapi.testclient import TestClient

    from console.app import create_app
    from gateway.options import Settings
    from gateway.run import run
    from tests.conftest import BUNDLED, TEST_KEY
    run(Settings((str(BUNDLED / "generated" / "2025-03"),), str(tmp_path / "out"), TEST_KEY))
    client = TestClient(create_app(replace(world["config"], out=tmp_path / "out")), follow_redirects=False)
    login(client, "olga")
    page = client.get("/quarantine").text
    links = regex.findall(r'href="/declarants/([^"]+)"', page)
    assert links and all(regex.fullmatch(r"([0-9]{9}|[0-9]{14}|inconnu|autre-[0-9a-f]{16})(\.pdf)?", l) for l in links)
    report = client.get(f"/declarants/{links[0]}")
    assert report.status_code == 200 and "Bilan d'anomalies" in report.text
    assert report.headers["content-security-policy"].startswith("default-src 'none'")
    pdf = client.get(f"/declarants/{links[0]}.pdf")
    assert pdf.status_code == 200 and "Bilan d'anomalies" in " ".join(
        p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    for hostile in ("..%2F..%2Frun.json", "%2Fetc%2Fpasswd", "27254887600015.html", "x<script>"):
        assert client.get(f"/declarants/{hostile}").status_code == 404, hostile
