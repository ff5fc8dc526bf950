"""Every rule has a failing and a passing example, from the generator's defects or hand-written text."""
from datetime import date

import pytest

from fixtures import builders as B
from fixtures.generator import DEFECT_KINDS, _apply
from gateway.records import Severity
from gateway.validate.registry import DEFAULT_RULES, RULE_ID, RuleRegistry, Target
from gateway.errors import DuplicateRuleError
from tests.conftest import rule_ids


def test_a_clean_file_is_accepted_without_any_finding(run_file):
    """A valid mensuelle produces no quarantine and no warning."""
    outcome = run_file(B.a_dsn_file())
    assert rule_ids(outcome) == [] and outcome.counts.quarantined == 0 and outcome.resources


TWO_PEOPLE = B.a_dsn_file((B.a_person(), [B.a_payment()]),
                          (B.a_person(nir=B.nir_for(2, date(1990, 7, 2), 69, 123, 7), birth=date(1990, 7, 2),
                                      contract="C00002"), [B.a_payment(pas_rate_bp=0)]))


@pytest.mark.parametrize("kind", sorted(DEFECT_KINDS))
def test_each_injected_defect_is_caught_by_its_intended_rule(kind, run_file):
    """Each of the generator's defect kinds is caught by the rule meant for it (a defect may also have
    logical consequences, e.g. a fake NIR whose year no longer matches the birth date)."""
    import random
    assert rule_ids(run_file(TWO_PEOPLE, "clean.dsn")) == []
    content, _ = _apply(kind, TWO_PEOPLE, random.Random(1))
    outcome = run_file(content)
    assert DEFECT_KINDS[kind] in rule_ids(outcome)
    assert outcome.counts.balanced


def test_a_rejected_envoi_still_reports_its_declarations_defects(run_file):
    """A wrong S90 total and a bad fraction are both reported (the drolow sample's two defects)."""
    import random
    content, _ = _apply("bad_fraction", B.a_dsn_file(), random.Random(1))
    content, _ = _apply("wrong_total", content, random.Random(1))
    outcome = run_file(content)
    assert {"DRM-STR-002", "DRM-FMT-001"} <= set(rule_ids(outcome))
    assert outcome.counts.quarantined == outcome.counts.read


def test_a_person_block_with_a_bad_nir_is_quarantined_alone(run_file):
    """A malformed NIR takes out that person's lines only; the other person's resources pass."""
    good = (B.a_person(), [B.a_payment()])
    bad = (B.a_person(nir="1234567890123", contract="C00009"), [B.a_payment()])
    outcome = run_file(B.a_dsn_file(good, bad))
    assert {r.rule_id for r in outcome.quarantine} == {"DRM-FMT-002", "DRM-ID-005"}   # format, birth year
    assert {r.scope for r in outcome.quarantine} == {Severity.PERSON}
    assert {r.nir for r in outcome.resources} == {good[0].nir}
    assert outcome.counts.balanced


def test_a_person_identified_by_neither_nir_nor_ntt_is_quarantined(run_file):
    content = B.a_dsn_file().replace(b"S21.G00.30.001,'1850375111042'\n", b"")
    outcome = run_file(content.replace(b"S90.G00.90.001,'", b"S90.G00.90.001,'X"))
    assert "DRM-ID-001" in rule_ids(outcome)


@pytest.mark.parametrize("content, rule", [
    (b"", "DRM-FIL-002"),
    (b"hello\x00world\n" * 3, "DRM-FIL-001"),
    (b"garbage before\n" + B.a_dsn_file(), "DRM-FIL-003"),
    (B.a_dsn_file().rstrip(b"\n"), "DRM-FIL-004"),
    (B.a_dsn_file(norm="P19V01"), "DRM-STR-005"),
])
def test_file_level_problems_are_named(content, rule, run_file):
    outcome = run_file(content)
    assert rule in rule_ids(outcome) and outcome.counts.balanced


def test_an_envoi_without_declaration_is_rejected(run_file):
    lines = B.envoi_lines([], emitter_siret=B.siret_from(B.siren_from(3)))
    assert "DRM-STR-004" in rule_ids(run_file(B.render(lines)))


def test_a_pasrau_declaration_is_checked_against_the_pasrau_catalogue(run_file):
    """Rubrics that exist in DSN but not in PASRAU are unknown in a PASRAU declaration."""
    person = (B.a_person(), [B.a_payment(income_class="201", net_paid=None)])
    clean = B.a_pasrau_file(person)
    assert rule_ids(run_file(clean)) == []
    dirty = clean.replace(b"S20.G00.05.007", b"S20.G00.05.008,'01'\nS20.G00.05.007", 1)
    assert "DRM-STR-006" in rule_ids(run_file(dirty.replace(b"S90.G00.90.001,'", b"S90.G00.90.001,'1")))


def test_every_rule_has_a_valid_id_and_a_french_sentence():
    """The catalogue is generated from the registry: ids follow DRM-XXX-NNN, every sentence is set."""
    rules = list(DEFAULT_RULES)
    assert len(rules) >= 20
    for rule in rules:
        assert RULE_ID.fullmatch(rule.id), rule.id
        assert rule.explain and rule.explain[0].isupper() and rule.explain.endswith(".")


def test_a_registry_refuses_a_duplicate_rule_id():
    registry = RuleRegistry()
    registry.rule("DRM-TST-001", family="t", severity=Severity.WARNING, target=Target.FILE, explain="Un.")(lambda x: [])
    with pytest.raises(DuplicateRuleError, match="DRM-TST-001"):
        registry.rule("DRM-TST-001", family="t", severity=Severity.WARNING, target=Target.FILE, explain="Deux.")(
            lambda x: [])


def test_a_fresh_registry_applies_only_its_own_rules(tmp_path, pseudonyms):
    """Tests build their own registry; the default catalogue is untouched."""
    from gateway.ingest import process_file
    from gateway.validate.registry import Finding
    registry = RuleRegistry()

    @registry.rule("DRM-TST-002", family="t", severity=Severity.WARNING, target=Target.DECLARATION, explain="Test.")
    def always(decl):
        yield Finding(B and __import__("gateway.records").records.Origin(decl.file, decl.first_line, decl.first_line))

    path = tmp_path / "f.dsn"
    path.write_bytes(B.a_dsn_file(main_month=date(2025, 4, 1)))
    outcome = process_file(str(path), registry, pseudonyms)
    assert [w.rule_id for w in outcome.warnings] == ["DRM-TST-002"] and outcome.resources


def test_an_implausible_amount_fails_the_published_schema_and_takes_the_person_out(run_file):
    """9,999,999.99 EUR fits the DSN format but not the register's schema: pandera quarantines that person."""
    outcome = run_file(B.a_dsn_file((B.a_person(), [B.a_payment(net_taxable=999_999_999)]),
                                    (B.a_person(nir=B.nir_for(2, date(1990, 7, 2), 69, 123, 7), birth=date(1990, 7, 2),
                                                contract="C00002"), [B.a_payment()])))
    assert {r.rule_id for r in outcome.quarantine} == {"DRM-SCH-001"}
    assert [r.rubric for r in outcome.quarantine] == ["net_taxable_cents"]
    assert len(outcome.resources) == 1 and outcome.counts.balanced
    assert outcome.quarantine[0].lines > 0 and "999999" not in outcome.quarantine[0].detail


def test_cross_declaration_rules_compare_a_declarants_months(tmp_path, pseudonyms):
    """A person with an open contract in March missing from April is reported on April's declaration."""
    from gateway.ingest import process_files
    siret = B.siret_from(B.siren_from(31))
    people = [(B.a_person(), [B.a_payment()]),
              (B.a_person(nir=B.nir_for(2, date(1990, 7, 2), 69, 123, 7), birth=date(1990, 7, 2), contract="C00002"),
               [B.a_payment()])]
    march = tmp_path / "march.dsn"
    march.write_bytes(B.a_dsn_file(*people, siret=siret, main_month=date(2025, 3, 1)))
    april = tmp_path / "april.dsn"
    april.write_bytes(B.a_dsn_file(people[0], siret=siret, main_month=date(2025, 4, 1)))
    outcome = process_files([str(march), str(april)], DEFAULT_RULES, pseudonyms)
    [finding] = outcome.warnings
    assert finding.rule_id == "DRM-XDC-004" and finding.file == "april.dsn" and finding.declarant_id == siret


def test_a_rule_scoped_to_a_norm_version_applies_only_to_it(tmp_path, pseudonyms):
    """Rules carry their flows and norm versions; the registry applies them only there."""
    from gateway.ingest import process_file
    from gateway.records import Origin
    from gateway.validate.registry import Finding
    registry = RuleRegistry()

    @registry.rule("DRM-TST-003", family="t", severity=Severity.WARNING, target=Target.DECLARATION,
                   explain="Test.", versions=("P26V01",))
    def p26_only(decl):
        yield Finding(Origin(decl.file, decl.first_line, decl.first_line))

    found = {}
    for norm in ("P25V01", "P26V01"):
        path = tmp_path / f"{norm}.dsn"
        path.write_bytes(B.a_dsn_file(norm=norm))
        found[norm] = [w.rule_id for w in process_file(str(path), registry, pseudonyms).warnings]
    assert found == {"P25V01": [], "P26V01": ["DRM-TST-003"]}
