"""Coverage-guided fuzzing of the parser and the rule engine with atheris (long runs, not in CI).

    pip install atheris                       # from the project root:
    cp -r bench/fuzz_corpus /tmp/corpus       # libFuzzer adds what it finds to the corpus folder
    python -m bench.fuzz /tmp/corpus -atheris_runs=200000 -max_len=20000

Each input is written to a temporary file and run through both passes (index, declarations, every
rule, normalisation). The property: no exception escapes and lines are conserved. Seed corpus:
``bench/fuzz_corpus/`` (small files made by the project's builders: ``python -m bench.fuzz --seed``).
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

CORPUS = Path(__file__).parent / "fuzz_corpus"


def seed_corpus() -> None:
    from fixtures import builders as B
    CORPUS.mkdir(exist_ok=True)
    person = (B.a_person(last_name="D'ALMEIDA"), [B.a_payment(regularisations=[("022025", -500, -500)])])
    samples = {
        "dsn.dsn": B.a_dsn_file(person),
        "dsn_crlf.dsn": B.a_dsn_file(person).replace(b"\n", b"\r\n"),
        "pasrau.dsn": B.a_pasrau_file((B.a_person(), [B.a_payment(income_class="301", net_paid=None)])),
        "signalement.dsn": B.a_dsn_file((B.a_person(), [B.a_payment(net_social=None)]), nature="07"),
    }
    for name, content in samples.items():
        (CORPUS / name).write_bytes(content)


def main() -> None:
    if "--seed" in sys.argv:
        seed_corpus()
        return
    import atheris

    with atheris.instrument_imports():
        import gateway.validate.rules  # noqa: F401
        from gateway.ingest import process_file
        from gateway.pseudonym import DEMO_KEY, Pseudonymiser
        from gateway.validate.registry import DEFAULT_RULES
    pseudonyms = Pseudonymiser(DEMO_KEY)
    handle, path = tempfile.mkstemp(suffix=".dsn")
    os.close(handle)

    def one_input(data: bytes) -> None:
        with open(path, "wb") as fh:
            fh.write(data)
        outcome = process_file(path, DEFAULT_RULES, pseudonyms)
        expected = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
        if not (outcome.counts.balanced and outcome.counts.read == expected):
            raise AssertionError(f"lines not conserved: {outcome.counts}")

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
