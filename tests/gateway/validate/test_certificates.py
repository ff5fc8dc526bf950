"""A certificate over a declaration's columns is only ever given when the rule, run person by person (the oracle),
finds nothing; and a run that skips the certified rules gives exactly the outcome of one that runs them all, on
the bundled flows (a defect of each kind), the conformance corpus (CRLF, LF, mixed line ends, Latin-1,
apostrophes, envelopes, a declaration read in parts), the fuzz seed corpus (a signalement among them), the real
samples, generated flows with many defects, hand-broken declarations and mutated text with random line ends."""
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures import builders as B
from fixtures.generator import Rates, generate
from gateway.ingest import process_file
from gateway.parse import rubrics as R
from gateway.pseudonym import DEMO_KEY, Pseudonymiser
from gateway.validate.certify import DeclarationColumns, certifiable, certified
from gateway.validate.registry import DEFAULT_RULES, Target
from tests.conftest import BUNDLED, SHARED_SAMPLES, declarations_of
from tests.test_conformance import CONFORMANCE_FILES

FUZZ_CORPUS = Path(__file__).resolve().parents[3] / "bench" / "fuzz_corpus"      # DSN, CR LF, PASRAU, a signalement
CERTIFIED = {rule.id for target in (Target.DECLARATION, Target.PERSON) for rule in DEFAULT_RULES.for_target(target)}


def _base() -> bytes:
    """One employee, two payments, the first with a withholding-tax régularisation of type 01."""
    return B.a_dsn_file((B.a_person(contract="C00003"),
                         [B.a_payment(regularisations=[("022025", -1000, -1000)]), B.a_payment()]))


# Defects the bundled and generated flows do not carry, each breaking one rule: (what, replacements in order).
_BROKEN = {
    "payment_numbers_repeated": [(b"S21.G00.50.003,'02'", b"S21.G00.50.003,'01'")],
    "net_social_period_in_the_future": [(b"S21.G00.58.003,'03'", b"S21.G00.58.001,'01032025'\n"
                                                                  b"S21.G00.58.002,'31122030'\nS21.G00.58.003,'03'")],
    "regularisation_without_its_amount": [(b"S21.G00.56.003,'-10.00'\n", b"")],
    "regularisation_of_type_02_with_type_01_amounts": [(b"S21.G00.56.002,'01'", b"S21.G00.56.002,'02'")],
    "norm_of_another_year": [(b"S10.G00.00.006,'P25V01'", b"S10.G00.00.006,'P24V01'")],
    "overpayment_regularisation_with_a_positive_amount": [(b"S21.G00.56.002,'01'", b"S21.G00.56.002,'03'"),
                                                          (b"S21.G00.56.003,'-10.00'", b"S21.G00.56.003,'10.00'")],
}


def _broken(folder: Path) -> list[Path]:
    folder.mkdir()
    files = []
    for name, edits in _BROKEN.items():
        content = _base()
        for old, new in edits:
            assert old in content, name
            content = content.replace(old, new, 1)
        files.append(folder / f"{name}.dsn")
        files[-1].write_bytes(content)
    return files


def _corpus(tmp_path: Path) -> list[Path]:
    generate(tmp_path / "generated", people=60, employers=3, bodies=2, months=2, seed=5, rates=Rates(defects=0.4))
    files = sorted(BUNDLED.rglob("*.dsn")) + list(CONFORMANCE_FILES) + sorted(tmp_path.rglob("*.dsn")) \
        + _broken(tmp_path / "broken") + sorted(FUZZ_CORPUS.glob("*.dsn"))
    return files + sorted(SHARED_SAMPLES.glob("*.dsn")) if SHARED_SAMPLES.is_dir() else files


def _audit(path: Path, given: dict[str, int], fired: dict[str, int]) -> None:
    """Every certificate of every declaration of ``path`` against the rule itself: a certified rule finds nothing
    in any person. Counts, by rule, the declarations certified and those where the rule found something."""
    for decl in declarations_of(path):
        rules = [rule for target in (Target.DECLARATION, Target.PERSON)
                 for rule in DEFAULT_RULES.for_target(target, decl.flow, decl.norm_version) if rule.id in CERTIFIED]
        proven = certified(decl, [rule.id for rule in rules])
        people = list(decl.instances(R.INDIVIDUAL))
        for rule in rules:
            findings = list(rule.check(decl)) if rule.target is Target.DECLARATION else \
                [finding for person in people for finding in rule.check(decl, person)]
            if rule.id in proven:
                assert not findings, f"{path.name} line {decl.first_line}: {rule.id} certified but finds {findings[0]}"
                given[rule.id] = given.get(rule.id, 0) + 1
            elif findings:
                fired[rule.id] = fired.get(rule.id, 0) + 1
        decl.release()


def test_every_declaration_and_person_rule_has_a_certificate():
    assert certifiable() == CERTIFIED


def test_a_certified_rule_finds_nothing_and_every_rule_is_both_certified_and_caught(tmp_path):
    given: dict[str, int] = {}
    fired: dict[str, int] = {}
    for path in _corpus(tmp_path):
        _audit(path, given, fired)
    assert set(given) == CERTIFIED, f"never certified: {sorted(CERTIFIED - set(given))}"
    # The corpus breaks every certified rule somewhere: there, the certificate was refused and the rule reported.
    assert set(fired) == CERTIFIED, f"never broken: {sorted(CERTIFIED - set(fired))}"


def test_skipping_certified_rules_gives_the_same_outcome_as_running_every_rule(tmp_path):
    pseudonyms = Pseudonymiser(DEMO_KEY)
    reference = DEFAULT_RULES.uncertified()
    for path in _corpus(tmp_path):
        fast = process_file(str(path), DEFAULT_RULES, pseudonyms)
        assert fast == process_file(str(path), reference, pseudonyms), path.name


_ENDINGS = [b"\n", b"\r\n"]
_BASES = {"dsn": _base(), "pasrau": B.a_pasrau_file((B.a_person(), [B.a_payment(income_class="301", net_paid=None)]),
                                                   (B.a_person(nir=B.nir_for(2, date(1985, 3, 15), 75, 111, 43)), [B.a_payment(income_class="201")]))}
if (SHARED_SAMPLES / "Jikenlabs_open-neodes_sample_dsn_P25V01.dsn").exists():   # a real file, read in place
    _BASES["real_sample"] = (SHARED_SAMPLES / "Jikenlabs_open-neodes_sample_dsn_P25V01.dsn").read_bytes()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(sorted(_BASES)),
       st.lists(st.tuples(st.sampled_from(["drop", "dup", "value", "swap"]), st.integers(0, 10_000),
                          st.sampled_from(["", "99", "03", "04", "01", "08", "09", "21", "-5.00", "1999999999999", "2A",
                                           "31122030", "01011950", "C00009", "032019", "0.00", "12.5", "D'ALMEIDA"])),
                min_size=1, max_size=8),
       st.lists(st.integers(0, 1), min_size=1, max_size=64))
def test_mutated_declarations_give_the_same_outcome_with_certificates(tmp_path_factory, base, mutations, endings):
    """A DSN of one employee with two payments (pay types, net social, a withholding-tax régularisation), a PASRAU
    of two beneficiaries and the real sample, with lines dropped, repeated, swapped or given other values (header
    and people), and random LF / CR LF line ends: certificates never hide a finding, and the outcome is the
    reference's."""
    lines = _BASES[base].replace(b"\r\n", b"\n").split(b"\n")[:-1]
    for kind, position, value in mutations:
        i = position % len(lines)
        if kind == "drop" and len(lines) > 1:
            del lines[i]
        elif kind == "dup":
            lines.insert(i, lines[i])
        elif kind == "swap":
            j = (i + len(value) + 1) % len(lines)
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "value" and lines[i].startswith((b"S21", b"S20")):
            lines[i] = lines[i][:16] + value.encode("latin-1") + b"'"
    content = b"".join(line + _ENDINGS[endings[i % len(endings)]] for i, line in enumerate(lines))
    path = tmp_path_factory.mktemp("certificates") / "f.dsn"
    path.write_bytes(content)
    _audit(path, {}, {})
    pseudonyms = Pseudonymiser(DEMO_KEY)
    assert process_file(str(path), DEFAULT_RULES, pseudonyms) == \
        process_file(str(path), DEFAULT_RULES.uncertified(), pseudonyms)


HEADER = (R.NATURE, R.TYPE, R.FRACTION, R.RANK, R.MAIN_MONTH, R.REPLACED_ID, R.FILE_DATE, R.SIREN, R.NIC, R.NIR)


def test_header_values_read_from_the_arrays_are_those_the_rules_read(tmp_path):
    """The first instance of a block in the tree's walk, found from the parent array, holds what
    ParsedDeclaration.value reads, on the whole corpus and on a declaration whose establishment comes before its
    company (an orphan kept as a root: first in the document, last in the walk)."""
    misplaced = _base().replace(b"S21.G00.06.001,", b"S21.G00.11.001,'99999'\nS21.G00.06.001,", 1)
    (tmp_path / "misplaced.dsn").write_bytes(misplaced)
    compared = 0
    for path in _corpus(tmp_path / "corpus") + [tmp_path / "misplaced.dsn"]:
        for decl in declarations_of(path):
            if decl.columns is None or decl.columns.structure is None:
                continue
            view = DeclarationColumns(decl)
            assert [view.first_value(rubric) for rubric in HEADER] == [decl.value(rubric) for rubric in HEADER], \
                f"{path.name} line {decl.first_line}"
            compared += 1
    assert compared > 100
