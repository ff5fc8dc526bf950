"""What-if: the same flows replayed under two policies, compared side by side."""
from typer.testing import CliRunner

from fixtures.generator import generate
from gateway.cli import app
from gateway.policy import default_policy_path

EXAMPLES = default_policy_path().parent / "examples"


def test_whatif_compares_two_example_policies_in_a_table_and_a_page(tmp_path):
    flows = tmp_path / "flows"
    generate(flows, people=60, employers=4, bodies=1, months=5, seed=4)
    result = CliRunner().invoke(app, ["whatif", str(flows), "--policy", str(EXAMPLES / "m4-m2-with-cap.yaml"),
                                      "--policy", str(EXAMPLES / "m3-m1-no-cap.yaml"), "--out", str(tmp_path / "w"),
                                      "--insecure-demo-key"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "1-example-m4-m2-with-cap" in result.output and "à décider par un agent" in result.output
    page = (tmp_path / "w" / "whatif.html").read_text()
    assert "<svg" in page and "2-example-m3-m1-no-cap" in page
    assert (tmp_path / "w" / "1-example-m4-m2-with-cap" / "run.json").exists()


def test_whatif_refuses_an_invalid_policy_before_replaying_anything(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text((EXAMPLES / "m3-m1-no-cap.yaml").read_text().replace("estimator: linear", "estimator: magic"))
    result = CliRunner().invoke(app, ["whatif", "--policy", str(EXAMPLES / "m4-m2-with-cap.yaml"), "--policy",
                                      str(broken), "--out", str(tmp_path / "w"), "--insecure-demo-key"])
    assert result.exit_code == 2 and "field gate.estimator" in result.output
    assert not (tmp_path / "w").exists()


def test_whatif_on_flows_that_change_no_base_says_so_instead_of_empty_charts(tmp_path):
    """The bundled edge-case flows under two policies that both gate the M-4..M-2 base: no published base is
    revised, and the page and the command say that there is nothing to compare, with no chart of zeros."""
    from tests.conftest import BUNDLED
    result = CliRunner().invoke(app, ["whatif", str(BUNDLED / "edge"), "--arrival", "folder",
                                      "--policy", str(EXAMPLES / "m4-m2-with-cap.yaml"),
                                      "--policy", str(default_policy_path()), "--out", str(tmp_path / "w"),
                                      "--insecure-demo-key"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "rien à comparer" in result.output
    page = (tmp_path / "w" / "whatif.html").read_text()
    assert "il n&#39;y a rien à comparer" in page or "il n'y a rien à comparer" in page
    assert "<svg" not in page and "Décisions par type" not in page


def test_the_comparison_counts_overpayments_and_arrears_raised_and_those_the_freeze_avoided():
    """Hand-made decisions: a regularised 200 € overpayment and 50 € arrears, a 900 € overpayment and 1,000 €
    arrears left under droits figés, a 20 € de minimis, one capped for an officer."""
    from gateway.whatif import summarise

    def decision(person, kind, impact, month="2025-05"):
        return {"person_key": person, "benefit": "RSA", "reference_month": month, "kind": kind,
                "estimated_impact_cents": impact}
    summary = summarise([decision("a", "REGULARISE", -20000), decision("a", "REGULARISE", 5000, "2025-06"),
                         decision("b", "DROITS_FIGES", -90000), decision("c", "DROITS_FIGES", 100000),
                         decision("d", "FREEZE_DE_MINIMIS", -2000), decision("e", "REVIEW_CAP", -80000)])
    assert (summary["indus_raised"], summary["indus_euros"], summary["arrears_paid"], summary["arrears_euros"]) == (
        1, 200.0, 1, 50.0)
    assert (summary["frozen"], summary["indus_avoided_euros"], summary["arrears_withheld_euros"]) == (3, 920.0, 1000.0)
    assert (summary["officer_review"], summary["households_affected"], summary["bases_changed"]) == (1, 5, 6)
    notified = {**decision("f", "REGULARISE", -30000), "decision_id": "n1", "status": "NOTIFIED"}
    final = {**decision("f", "REGULARISE", -30000), "decision_id": "f1", "status": "FINAL", "supersedes": "n1"}
    assert summarise([notified, final])["indus_raised"] == 1          # notified, then final: one overpayment
