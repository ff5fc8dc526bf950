"""The README scenario end to end: a request closed by the corrected flow (releasing the gate's hold),
another escalated and forced; opening a request on a month the register never saw is refused."""

import pytest
from typer.testing import CliRunner

from corrections.cli import open_store
from fixtures import scenario
from gateway.cli import app
from gateway.versioning import store as register


@pytest.fixture(scope="module")
def played(tmp_path_factory):
    root = tmp_path_factory.mktemp("scenario")
    ids = scenario.run_scenario(root)
    return root / "out", ids


def test_the_corrected_declaration_closes_the_request_in_the_claimants_favour(played):
    out, ids = played
    request = open_store(out, None).get(ids["corrected"])
    assert request.state == "CLOSED" and request.outcome == "IN_FAVOUR"
    assert [e.action for e in request.events] == ["open", "route", "acknowledge", "correct", "close"]
    assert request.months[0].corrected_cents == scenario.RIGHT


def test_the_gate_holds_while_the_request_is_open_then_regularises(played):
    out, ids = played
    person = open_store(out, None).get(ids["corrected"]).person_key
    mine = sorted((d for d in register.load_all(out / "history" / "register", "decisions")
                   if d["person_key"] == person and d["benefit"] == "RSA"), key=lambda d: d["as_of"])
    assert [(d["kind"], d["as_of"][:10]) for d in mine] == [("HOLD_CORRECTION", "2025-06-01"),
                                                          ("REGULARISE", "2025-07-01")]
    assert mine[1]["supersedes"] == mine[0]["decision_id"] and mine[1]["estimated_impact_cents"] == 92000


def test_the_silent_employers_request_escalates_and_the_forced_value_is_a_register_version(played):
    out, ids = played
    request = open_store(out, None).get(ids["forced"])
    assert [e.action for e in request.events] == ["open", "route", "escalate", "force", "close"]
    versions = [v for v in register.load_all_versions(out / "history" / "register")
                if v.person_key == request.person_key and v.month == "2025-02"]
    assert [(v.version, v.cause.value, v.net_social_cents) for v in sorted(versions, key=lambda v: v.version)] == [
        (1, "INITIAL", scenario.WRONG), (2, "FORCED", scenario.RIGHT)]


def test_notices_name_the_months_and_expected_correction_and_the_status_reads_in_french(played):
    out, ids = played
    letter = (out / "outbox" / f"{ids['corrected']}-notice-2025-05-03.txt").read_text()
    assert "février 2025" in letter and "annule et remplace" in letter and "3\u202f000,00 €" in letter
    result = CliRunner().invoke(app, ["corrections", "status", ids["corrected"], "--out", str(out)],
                                terminal_width=200)
    assert result.exit_code == 0 and "la correction vous donne raison" in result.output
    assert scenario.ALICE.nir not in result.output


def test_opening_a_request_on_a_month_the_register_never_saw_is_refused(played):
    out, _ = played
    result = CliRunner().invoke(app, ["corrections", "open", "--nir", scenario.ALICE.nir, "--declarant",
                                      scenario.CORRECTING, "--month", "2024-01=100.00", "--reason", "erreur",
                                      "--officer", "agent-7", "--out", str(out), "--insecure-demo-key"],
                                env={"DRM_GATEWAY_PASSWORD": scenario.DEMO_PASSWORD})
    assert result.exit_code == 2 and "unknown resource month" in result.output
    assert len(open_store(out, None).list()) == 2


def test_the_sla_report_counts_requests_and_time_to_correction(played):
    out, _ = played
    result = CliRunner().invoke(app, ["corrections", "sla", "--out", str(out), "--at", "2025-07-10T00:00:00Z"])
    assert result.exit_code == 0 and '"CLOSED": 2' in result.output
    assert f'"{scenario.CORRECTING}": 29.0' in result.output


def test_logs_and_reports_of_the_scenario_carry_no_nir(played):
    out, _ = played
    for path in list((out / "report").rglob("*")) + list((out / "history").rglob("*.json*")):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert scenario.ALICE.nir not in text and scenario.BRUNO.nir not in text, path


def test_every_output_of_the_scenario_is_scanned_and_only_letters_to_the_source_name_the_nir(played):
    """The whole output folder, outbox included: the NIR is only in the liquidation feed, the register, the
    corrections store and the letters to the employer (who must identify the employee: README); names and
    birth dates are nowhere, letters included."""
    from tests.test_personal_data import _texts
    out, _ = played
    people = (scenario.ALICE, scenario.BRUNO, scenario.CAMILLE)
    nirs = [p.nir for p in people]
    others = [p.last_name for p in people] + [p.birth.strftime("%d%m%Y") for p in people] \
        + [p.birth.isoformat() for p in people]
    allowed_nir = ("/resources/", "/avro/", "/history/register/", "/outbox/", "corrections.db")
    texts = _texts(out)
    letters = [where for where in texts if "/outbox/" in where]
    assert letters and any(nir in texts[where] for where in letters for nir in nirs)
    nir_hits = [where for where, text in texts.items() for nir in nirs
                if nir in text and not any(place in where for place in allowed_nir)]
    other_hits = [(where, value) for where, text in texts.items() for value in others if value in text]
    assert nir_hits == [] and other_hits == []


def _as(user: str | None, password: str | None, *args: str):
    env = {"DRM_GATEWAY_PASSWORD": password}
    return CliRunner().invoke(app, [*args, *(["--user", user] if user else [])], env=env)


def test_officers_act_on_the_command_line_as_console_users_with_their_role_and_the_audit_trail_says_so(played):
    """One identity: the command line authenticates the console's users, refuses a wrong password, an unknown
    name and a role without the right, changes nothing then, and records every action in the console's trail."""
    from console.users import audit_trail
    out, _ = played
    scenario.a_console_user(out, "olga", "officer")
    store = open_store(out, None)
    before = len(store.list())
    opening = ("corrections", "open", "--nir", scenario.BRUNO.nir, "--declarant", scenario.SILENT, "--month",
               "2025-03=1500.00", "--reason", "Montant de mars contesté.", "--out", str(out), "--insecure-demo-key")
    unknown = _as("agent-12", scenario.DEMO_PASSWORD, *opening)
    wrong = _as("olga", "not-her-password", *opening)
    assert unknown.exit_code == 2 and "authentication failed @ agent-12" in unknown.output
    assert wrong.exit_code == 2 and "authentication failed @ olga" in wrong.output
    assert "users add" in unknown.output and "corrections officer" not in unknown.output
    assert len(store.list()) == before
    opened = _as("olga", scenario.DEMO_PASSWORD, *opening)
    assert opened.exit_code == 0, opened.output
    [new] = [r for r in store.list() if r.opened_by == "olga"]
    forcing = ("corrections", "force", new.request_id, "--value", "2025-03=1500.00", "--justification", "x" * 12,
               "--evidence", "bulletin", "--out", str(out))
    refused = _as("olga", scenario.DEMO_PASSWORD, *forcing)
    assert refused.exit_code == 2 and "officer may not decide" in refused.output
    assert store.get(new.request_id).state == new.state
    trail = [(a.username, a.action, a.target, a.outcome, a.channel) for a in audit_trail(store, 500)]
    assert ("olga", "request:open", scenario.SILENT, "ok", "cli") in trail
    assert ("olga", "decide", "cli", "refused", "cli") in trail
    assert ("olga", "login", "cli", "refused", "cli") in trail and ("agent-12", "login", "cli", "refused", "cli") in trail
    forced = next(r for r in store.list(declarant=scenario.SILENT) if r.opened_by == "agent-7")
    assert ("agent-7", "request:force", forced.request_id, "ok", "cli") in trail     # the scenario's own actions


def test_a_command_line_action_without_a_password_says_how_to_give_one(played):
    """No $DRM_GATEWAY_PASSWORD and no terminal: a one-line error, nothing done; the old officer command is gone."""
    out, ids = played
    result = _as("agent-7", None, "corrections", "close", ids["corrected"], "--out", str(out))
    assert result.exit_code == 2 and "$DRM_GATEWAY_PASSWORD" in result.output
    gone = CliRunner().invoke(app, ["corrections", "officer", "agent-9", "--out", str(out)])
    assert gone.exit_code != 0 and "No such command" in gone.output


def test_users_are_managed_from_the_command_line_by_an_admin_once_one_exists(tmp_path):
    """Before any admin, whoever installs creates the first users ('operator' in the trail); after, only an
    admin with their password, and the trail says who."""
    from console.users import audit_trail, users
    out = ["--out", str(tmp_path)]
    runner = CliRunner()
    first = runner.invoke(app, ["users", "add", "ada", "--role", "admin", "--password-stdin", *out],
                          input=scenario.DEMO_PASSWORD + "\n")
    assert first.exit_code == 0, first.output
    anonymous = runner.invoke(app, ["users", "add", "olga", "--role", "officer", "--password-stdin", *out],
                              input="olga-password-12\n")
    assert anonymous.exit_code == 2 and "admin @ --user" in anonymous.output
    added = runner.invoke(app, ["users", "add", "olga", "--role", "officer", "--password-stdin", "--user", "ada", *out],
                          input="olga-password-12\n", env={"DRM_GATEWAY_PASSWORD": scenario.DEMO_PASSWORD})
    assert added.exit_code == 0, added.output
    officer = runner.invoke(app, ["users", "deactivate", "ada", "--user", "olga", *out],
                            env={"DRM_GATEWAY_PASSWORD": "olga-password-12"})
    assert officer.exit_code == 2 and "officer may not manage users" in officer.output
    store = open_store(tmp_path, None)
    assert {u.username: (u.role, u.active) for u in users(store)} == {"ada": ("admin", True), "olga": ("officer", True)}
    trail = [(a.username, a.action, a.target, a.outcome, a.channel) for a in audit_trail(store)]
    assert ("operator", "user:add", "ada", "ok", "cli") in trail and ("ada", "user:add", "olga", "ok", "cli") in trail
