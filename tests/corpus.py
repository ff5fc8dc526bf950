"""Real-format text every fast path is proven on against its reference (the object path): the bundled flows (a
defect of each kind), the conformance corpus (CRLF, LF, mixed line ends, Latin-1, apostrophes, envelopes, a
declaration read in parts), the fuzz seed corpus (a signalement among them), the real samples, generated flows
with many defects (LF and CR LF), hand-built clean declarations of every attribution case, hand-broken declarations, and mutations of small declarations with random line ends."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from hypothesis import strategies as st

from fixtures import builders as B
from fixtures.generator import Rates, generate
from gateway.ingest import DeclarationTask, index_file
from gateway.parse.together import Piece, read_together
from gateway.validate.registry import DEFAULT_RULES
from tests.conftest import BUNDLED, SHARED_SAMPLES
from tests.test_conformance import CONFORMANCE_FILES

FUZZ_CORPUS = Path(__file__).resolve().parents[1] / "bench" / "fuzz_corpus"      # DSN, CR LF, PASRAU, a signalement


def base_dsn() -> bytes:
    """One employee, two payments, the first with a withholding-tax régularisation of type 01."""
    return B.a_dsn_file((B.a_person(contract="C00003"),
                         [B.a_payment(regularisations=[("022025", -1000, -1000)]), B.a_payment()]))


# Defects the bundled and generated flows do not carry, each breaking one rule: (what, replacements in order).
BROKEN = {
    "payment_numbers_repeated": [(b"S21.G00.50.003,'02'", b"S21.G00.50.003,'01'")],
    "payment_number_missing": [(b"S21.G00.50.003,'02'\n", b"")],
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
    for name, edits in BROKEN.items():
        content = base_dsn()
        for old, new in edits:
            assert old in content, name
            content = content.replace(old, new, 1)
        files.append(folder / f"{name}.dsn")
        files[-1].write_bytes(content)
    return files


def _contracts() -> bytes:
    """Four employees: a contract without end, one planned to end on the first day of the next month (still
    running then), one planned to end in the main month, one ended in it (S21.G00.62)."""
    people = [(B.a_person(nir=B.nir_for(1, date(1980, 1, 1), 75, 111, i), birth=date(1980, 1, 1), contract=f"C0000{i}"),
               [B.a_payment()]) for i in range(1, 5)]
    out, seen = [], 0
    for line in B.a_dsn_file(*people, main_month=date(2025, 3, 1)).split(b"\n"):
        out.append(line)
        seen += line.startswith(b"S21.G00.40.009,")
        if line.startswith(b"S21.G00.40.009,") and seen in (2, 3):
            out.append(b"S21.G00.40.010,'01042025'" if seen == 2 else b"S21.G00.40.010,'31032025'")
        if line.startswith(b"S21.G00.40.014,") and seen == 4:
            out += [b"S21.G00.62.001,'15032025'", b"S21.G00.62.002,'059'"]
    return b"\n".join(out)


def _subrogations() -> bytes:
    """Two employees on sick leave (P26V01): one with subrogation and its daily allowance, one without subrogation
    (S21.G00.60.004 = 02) and an allowance of 0.00."""
    def employee(order: int):
        return (B.a_person(nir=B.nir_for(2, date(1981, 2, 2), 75, 111, order), birth=date(1981, 2, 2),
                           subrogation=(date(2026, 2, 10), date(2026, 3, 5))),
                [B.a_payment(paid_on=date(2026, 3, 28), period=(date(2026, 3, 1), date(2026, 3, 31)),
                             subrogated_allowance=4000)])
    content = B.a_dsn_file(employee(1), employee(2), norm="P26V01", main_month=date(2026, 3, 1))
    for old, new in ((b"S21.G00.60.004,'01'", b"S21.G00.60.004,'02'"),
                     (b"S21.G00.58.003,'10'\nS21.G00.58.004,'40.00'", b"S21.G00.58.003,'10'\nS21.G00.58.004,'0.00'")):
        head, found, tail = content.partition(old)          # the second employee's
        content = head + found + tail.replace(old, new, 1)
    return content


def shapes() -> dict[str, bytes]:
    """Clean declarations of every attribution case of the normaliser: several payments in one month (and a payment
    whose blocks end before its person's), back pay of two months, net social corrections (and a net social item of the payment's own month), régularisations of two
    months, a subrogation with its allowance (P26V01) and one without, contracts running, planned to end and ended, PASRAU payments of two income classes and periods."""
    other = B.a_person(nir=B.nir_for(2, date(1985, 3, 15), 75, 111, 43))
    return {
        "two_payments_one_month": B.a_dsn_file((B.a_person(), [B.a_payment(paid_on=date(2025, 3, 10)), B.a_payment()])),
        "back_pay_corrections_regularisations": B.a_dsn_file((B.a_person(), [B.a_payment(
            back_pay=[(12000, date(2025, 1, 1), date(2025, 1, 31)), (5000, date(2025, 2, 1), date(2025, 2, 28))],
            extra_net_social=[(-3000, date(2025, 1, 1), date(2025, 1, 31)), (2000, date(2025, 2, 1), date(2025, 2, 28)),
                              (1500, date(2025, 3, 1), date(2025, 3, 31))],     # the last one in the payment's month
            regularisations=[("012025", -1000, -1000), ("022025", 500, 500)])])),
        "contracts_running_planned_and_ended": _contracts(),
        "subrogation_and_not": _subrogations(),
        "subrogation": B.a_dsn_file((B.a_person(subrogation=(date(2026, 2, 10), date(2026, 3, 5))),
                                     [B.a_payment(paid_on=date(2026, 3, 28), period=(date(2026, 3, 1), date(2026, 3, 31)),
                                                  subrogated_allowance=4000)]),
                                    norm="P26V01", main_month=date(2026, 3, 1)),
        "pasrau_classes_and_periods": B.a_pasrau_file(
            (B.a_person(), [B.a_payment(income_class="301"),
                            B.a_payment(income_class="201", paid_on=date(2025, 3, 5),
                                        period=(date(2025, 2, 1), date(2025, 2, 28)))]),
            (other, [B.a_payment(income_class="201", net_social=None),
                     B.a_payment(income_class="201", paid_on=date(2025, 3, 2))])),
    }


def corpus(tmp_path: Path) -> list[Path]:
    """Every file of the corpus; the generated and hand-broken ones are written under ``tmp_path``."""
    generate(tmp_path / "generated", people=60, employers=3, bodies=2, months=2, seed=5, rates=Rates(defects=0.4))
    for path in sorted((tmp_path / "generated").rglob("*.dsn")):        # the same flows with CR LF line ends
        crlf = tmp_path / "crlf" / path.relative_to(tmp_path / "generated")
        crlf.parent.mkdir(parents=True, exist_ok=True)
        crlf.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    (tmp_path / "shapes").mkdir()
    for name, content in shapes().items():
        (tmp_path / "shapes" / f"{name}.dsn").write_bytes(content)
    files = sorted(BUNDLED.rglob("*.dsn")) + list(CONFORMANCE_FILES) + sorted(tmp_path.rglob("*.dsn")) \
        + _broken(tmp_path / "broken") + sorted(FUZZ_CORPUS.glob("*.dsn"))
    return files + sorted(SHARED_SAMPLES.glob("*.dsn")) if SHARED_SAMPLES.is_dir() else files


# Small declarations to mutate: a DSN (pay types, net social, a régularisation), a PASRAU of two beneficiaries and
# the real sample (read in place).
BASES = {"dsn": base_dsn(),
         "pasrau": B.a_pasrau_file((B.a_person(), [B.a_payment(income_class="301", net_paid=None)]),
                                   (B.a_person(nir=B.nir_for(2, date(1985, 3, 15), 75, 111, 43)),
                                    [B.a_payment(income_class="201")]))}
if (SHARED_SAMPLES / "Jikenlabs_open-neodes_sample_dsn_P25V01.dsn").exists():
    BASES["real_sample"] = (SHARED_SAMPLES / "Jikenlabs_open-neodes_sample_dsn_P25V01.dsn").read_bytes()

# Lines dropped, repeated, swapped or given other values (header and people).
MUTATIONS = st.lists(st.tuples(st.sampled_from(["drop", "dup", "value", "swap"]), st.integers(0, 10_000),
                               st.sampled_from(["", "99", "03", "04", "01", "08", "09", "21", "-5.00", "1999999999999",
                                                "2A", "31122030", "01011950", "C00009", "032019", "0.00", "12.5",
                                                "D'ALMEIDA", "'", "L',''A'"])),
                     min_size=1, max_size=8)
ENDINGS = st.lists(st.integers(0, 1), min_size=1, max_size=64)      # LF or CR LF, line by line


def mutated(content: bytes, mutations, endings: list[int]) -> bytes:
    lines = content.replace(b"\r\n", b"\n").split(b"\n")[:-1]
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
    return b"".join(line + (b"\r\n" if endings[i % len(endings)] else b"\n") for i, line in enumerate(lines))


def between_clean_ones(folder: Path, content: bytes) -> list[Path]:
    """``content`` as a file between two clean declarations' files (the one after it in CR LF), in ``folder``: what
    a worker reads together, in that order."""
    paths = []
    for name, text in (("before", base_dsn()), ("changed", content), ("after", base_dsn().replace(b"\n", b"\r\n"))):
        paths.append(folder / f"{name}.dsn")
        paths[-1].write_bytes(text)
    return paths


def read_all_together(paths) -> list:
    """Every declaration of ``paths`` read together with the others (gateway.parse.together), as a worker reads a
    batch; those left to the reference are not in it."""
    pieces = [Piece(item.path, item.file, item.envoi_number, item.norm_version, span)
              for path in paths for item in index_file(str(path), DEFAULT_RULES) if isinstance(item, DeclarationTask)
              for span in item.spans]
    return [decl for decl in read_together(pieces) if decl is not None]


# Values that do not fit their rubric (dates, amounts, codes), put at random lines of a declaration.
BAD_VALUES = ["", "x", "12,00", "+12.00", "-5.00", "1.5", "31022025", "00000000", "99999999", "ABC", "2A", "D'ALMEIDA",
              "01012025", "1200.00", "01"]


VALUE_CHANGES = st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(BAD_VALUES)), min_size=1, max_size=12)


def with_values(changes) -> bytes:
    """A two-person declaration (dates, amounts, codes) with values replaced at the lines ``changes`` point at."""
    lines = B.a_dsn_file((B.a_person(), [B.a_payment()]),
                         (B.a_person(contract="C00002"), [B.a_payment(), B.a_payment()])).split(b"\n")[:-1]
    for position, value in changes:
        i = position % len(lines)
        if lines[i].startswith((b"S21", b"S20")):
            lines[i] = lines[i][:16] + value.encode("latin-1") + b"'"
    return b"\n".join(lines) + b"\n"
