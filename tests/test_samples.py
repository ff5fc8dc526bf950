"""The public samples of ../shared/samples (skipped when shared/ is absent)."""
from gateway.ingest import process_file
from gateway.validate.registry import DEFAULT_RULES
from tests.conftest import rule_ids


def test_the_fctu_sample_is_parsed_yields_no_resource_and_flags_its_defects(shared_samples, pseudonyms):
    """Nature 07 envois: no resources, no crash, totals consistent; its invalid NIRs and the
    UTF-8-mangled job label are reported."""
    outcome = process_file(str(shared_samples / "Jikenlabs_open-neodes_sample_dsn_P25V01.dsn"), DEFAULT_RULES, pseudonyms)
    assert outcome.resources == () and outcome.declarations == 3 and outcome.counts.read == 443
    assert outcome.counts.balanced
    assert "DRM-ENC-002" in rule_ids(outcome)
    assert not {"DRM-STR-001", "DRM-STR-002", "DRM-STR-003"} & set(rule_ids(outcome))


def test_the_drolow_sample_has_its_s90_and_fraction_defects_reported(shared_samples, pseudonyms):
    outcome = process_file(str(shared_samples / "drolow_dsn-analyzer_exemple.dsn"), DEFAULT_RULES, pseudonyms)
    fraction = [r for r in outcome.quarantine if r.rubric == "S20.G00.05.003"]
    assert "DRM-STR-002" in rule_ids(outcome) and fraction and fraction[0].rule_id == "DRM-FMT-001"
    assert outcome.counts.balanced and outcome.counts.quarantined == 165
