from __future__ import annotations

from pathlib import Path

import pytest
import structlog

import gateway.validate.rules  # noqa: F401
from gateway.ingest import process_file
from gateway.pseudonym import DEMO_KEY, Pseudonymiser
from gateway.validate.registry import DEFAULT_RULES

SHARED_SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
BUNDLED = Path(__file__).resolve().parents[1] / "fixtures" / "bundled"
TEST_KEY = b"test key for drm-gateway, 32 byte"


@pytest.fixture(autouse=True)
def _reset_structlog():
    yield
    structlog.reset_defaults()
    import gateway.log
    gateway.log._configured = False


@pytest.fixture
def pseudonyms() -> Pseudonymiser:
    return Pseudonymiser(TEST_KEY)


@pytest.fixture
def run_file(tmp_path, pseudonyms):
    """Write bytes to a file and run both passes of the gateway over it, in process."""
    def run(content: bytes, name: str = "flow.dsn"):
        path = tmp_path / name
        path.write_bytes(content)
        return process_file(str(path), DEFAULT_RULES, pseudonyms)
    return run


@pytest.fixture
def shared_samples() -> Path:
    if not SHARED_SAMPLES.is_dir():
        pytest.skip("../shared/samples is not present beside the project")
    return SHARED_SAMPLES


def rule_ids(outcome) -> list[str]:
    return sorted({record.rule_id for record in outcome.quarantine + outcome.warnings})


__all__ = ["DEMO_KEY", "rule_ids"]


def declarations_of(path: Path):
    """Every declaration of a flow file, parsed as a run parses it (index, then each span read)."""
    from gateway.ingest import DeclarationTask, index_file
    from gateway.parse.declaration import read_declaration
    with open(path, "rb") as fh:
        for item in index_file(str(path), DEFAULT_RULES):
            if isinstance(item, DeclarationTask):
                for span in item.spans:
                    yield read_declaration(fh, item.file, span, item.envoi_number, item.norm_version)


@pytest.fixture()
def columnar(monkeypatch):
    """How many declarations were accepted whole from their columns (gateway.normalise.columnar) since the counter was
    last cleared: the in-process runner calls ``gateway.ingest``'s function, counted here."""
    from collections import Counter

    import gateway.ingest
    taken: Counter = Counter()
    clean_people = gateway.ingest._clean_people

    def counted(decl, registry, pseudonyms):
        taken["columnar"] += 1
        return clean_people(decl, registry, pseudonyms)
    monkeypatch.setattr(gateway.ingest, "_clean_people", counted)
    return taken
