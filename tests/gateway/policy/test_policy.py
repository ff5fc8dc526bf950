"""The policy file: shipped defaults load; an unusable file is refused naming the field and the reason."""
import pytest
import yaml
from typer.testing import CliRunner

from gateway.cli import app
from gateway.errors import ConfigurationError
from gateway.policy import default_policy_path, load_policy


def _variant(tmp_path, change) -> str:
    data = yaml.safe_load(default_policy_path().read_text())
    change(data)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_the_shipped_policy_loads_with_its_version_and_benefits():
    policy = load_policy()
    assert policy.version and len(policy.digest) == 64
    assert {b.benefit: b.window for b in policy.bases} == {"AL": (-13, -2), "RSA": (-4, -2), "PA": (-4, -2),
                                                          "RSA_M3_M1": (-3, -1)}
    assert {b.benefit: b.amount for b in policy.bases}["AL"] == "net_taxable_cents"


@pytest.mark.parametrize("change, field", [
    (lambda d: d["bases"]["AL"].update(window=[-2, -13]), "bases.AL.window"),
    (lambda d: d["bases"]["RSA"].update(amount="net_salary"), "bases.RSA.amount"),
    (lambda d: d["bases"]["PA"].update(natures=["WAGES"]), "bases.PA.natures"),
    (lambda d: d["bases"]["PA"].update(recompute="weekly"), "bases.PA.recompute"),
    (lambda d: d["floating"]["revised"].update(step_per_revision=1.5), "floating.revised.step_per_revision"),
    (lambda d: d["floating"]["missing"].update(due_day=40), "floating.missing.due_day"),
    (lambda d: d["floating"].pop("volatile"), "floating.volatile"),
    (lambda d: d.update(version=3), "version"),
])
def test_an_invalid_policy_is_refused_naming_the_field(tmp_path, change, field):
    with pytest.raises(ConfigurationError) as error:
        load_policy(_variant(tmp_path, change))
    assert f"field {field}:" in str(error.value)


def test_a_policy_that_is_not_yaml_is_refused_with_its_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("version: 1\nbases: [\n")
    with pytest.raises(ConfigurationError, match=r"broken.yaml line \d+"):
        load_policy(path)


def test_a_run_with_an_invalid_policy_stops_before_writing_anything(tmp_path):
    policy = _variant(tmp_path, lambda d: d["bases"]["AL"].update(window="M-13"))
    result = CliRunner().invoke(app, ["run", "--out", str(tmp_path / "out"), "--insecure-demo-key", "--policy", policy])
    assert result.exit_code == 2 and "field bases.AL.window" in result.output
    assert not (tmp_path / "out" / "run.json").exists() and not (tmp_path / "out" / "resources").exists()
