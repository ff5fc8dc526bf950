"""Random and mutated NEODeS text never makes the gateway raise, and lines are always conserved."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures import builders as B
from gateway.ingest import process_file
from gateway.pseudonym import DEMO_KEY, Pseudonymiser
from gateway.validate.registry import DEFAULT_RULES

from tests.conftest import SHARED_SAMPLES

BASES = {
    "dsn": B.a_dsn_file((B.a_person(), [B.a_payment()]), (B.a_person(contract="C00002"), [B.a_payment()])),
    "pasrau": B.a_pasrau_file((B.a_person(), [B.a_payment(income_class="301", net_paid=None)])),
}
if (SHARED_SAMPLES / "Jikenlabs_open-neodes_sample_dsn_P25V01.dsn").exists():   # a real file, read in place
    BASES["ons_sample"] = (SHARED_SAMPLES / "Jikenlabs_open-neodes_sample_dsn_P25V01.dsn").read_bytes()


def _run(tmp_path_factory, content: bytes):
    path = tmp_path_factory.mktemp("fuzz") / "f.dsn"
    path.write_bytes(content)
    return process_file(str(path), DEFAULT_RULES, Pseudonymiser(DEMO_KEY))


def _expected_lines(content: bytes) -> int:
    return content.count(b"\n") + (0 if not content or content.endswith(b"\n") else 1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise_and_lines_are_conserved(tmp_path_factory, data):
    outcome = _run(tmp_path_factory, data)
    assert outcome.counts.balanced and outcome.counts.read == _expected_lines(data)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(sorted(BASES)),
       st.lists(st.tuples(st.sampled_from(["drop", "dup", "swap", "cut", "byte"]), st.integers(0, 10_000),
                          st.integers(0, 255)), min_size=1, max_size=6))
def test_mutated_declarations_never_raise_and_lines_are_conserved(tmp_path_factory, base, mutations):
    lines = list(BASES[base].split(b"\n")[:-1])
    for kind, position, value in mutations:
        i = position % len(lines) if lines else 0
        if not lines:
            break
        if kind == "drop":
            del lines[i]
        elif kind == "dup":
            lines.insert(i, lines[i])
        elif kind == "swap" and len(lines) > 1:
            j = (i + value) % len(lines)
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "cut":
            lines[i] = lines[i][: value % (len(lines[i]) + 1)]
        elif kind == "byte" and lines[i]:
            k = value % len(lines[i])
            lines[i] = lines[i][:k] + bytes([value]) + lines[i][k + 1:]
    content = b"\n".join(lines) + b"\n"
    first = _run(tmp_path_factory, content)
    assert first.counts.balanced and first.counts.read == _expected_lines(content)
    assert _run(tmp_path_factory, content) == first   # deterministic
