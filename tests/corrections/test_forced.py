"""A forced value is a FORCED version of the register; a later correction from the source supersedes it
and moves the request to CORRECTED."""
from datetime import date

from typer.testing import CliRunner

from corrections.cli import open_store
from fixtures import builders as B
from fixtures import scenario
from gateway.cli import app
from gateway.versioning import store as register


def _cli(*args):
    result = CliRunner().invoke(app, list(args), terminal_width=200,
                                env={"DRM_GATEWAY_PASSWORD": scenario.DEMO_PASSWORD})
    assert result.exit_code == 0, result.output
    return result.output


def test_a_later_correction_from_the_source_supersedes_a_forced_value_and_corrects_the_request(tmp_path):
    flows, out = tmp_path / "flows", tmp_path / "out"
    scenario.write_flows(flows)
    common = ("--out", str(out))
    for arrival in ("2025-02", "2025-03", "2025-04", "2025-05"):
        _cli("run", str(flows / arrival), *common, "--insecure-demo-key")
    scenario.a_console_user(out, "agent-7")
    _cli("corrections", "open", "--nir", scenario.BRUNO.nir, "--declarant", scenario.SILENT, "--month",
         "2025-02=2080.00", "--reason", "Montant de février trop élevé.", "--officer", "agent-7",
         "--at", "2025-05-03T09:00:00Z", *common, "--insecure-demo-key")
    [request] = open_store(out, None).list(declarant=scenario.SILENT)
    _cli("corrections", "route", request.request_id, "--officer", "agent-7", "--at", "2025-05-03T10:00:00Z", *common)
    _cli("corrections", "tick", "--at", "2025-06-01T00:00:00Z", *common)
    _cli("corrections", "force", request.request_id, "--officer", "agent-7", "--value", "2025-02=2000.00",
         "--justification", "Bulletin produit, employeur silencieux.", "--evidence", "bulletin de février",
         "--at", "2025-06-02T09:00:00Z", *common)
    late = tmp_path / "late" / "2025-07-15"
    late.mkdir(parents=True)
    payment = B.a_payment(paid_on=date(2025, 6, 30), period=(date(2025, 6, 1), date(2025, 6, 30)))
    payment.extra_net_social.append((scenario.RIGHT - scenario.WRONG, date(2025, 2, 1), date(2025, 2, 28)))
    (late / "correction.dsn").write_bytes(B.a_dsn_file((scenario.BRUNO, [payment]), siret=scenario.SILENT,
                                                       main_month=date(2025, 6, 1)))
    _cli("run", str(late), *common, "--insecure-demo-key", "--as-of", "2025-07-15T08:00:00Z")
    march = sorted((v for v in register.load_all_versions(out / "history" / "register")
                    if v.declarant_id == scenario.SILENT and v.month == "2025-02"), key=lambda v: v.version)
    assert [(v.cause.value, v.net_social_cents) for v in march] == [
        ("INITIAL", scenario.WRONG), ("FORCED", 200000), ("NET_SOCIAL_CORRECTION", scenario.RIGHT)]
    request = open_store(out, None).get(request.request_id)
    assert request.state == "CORRECTED" and request.outcome == "IN_FAVOUR"
    assert [e.action for e in request.events][-2:] == ["force", "correct"]
