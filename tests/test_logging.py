import json

from structlog.testing import capture_logs

from fixtures.generator import Rates, generate
from gateway import log
from gateway.options import Settings
from gateway.run import run
from tests.conftest import TEST_KEY


def test_logs_of_a_run_carry_no_nir_name_or_birth_date(tmp_path, capsys):
    """Every log line of a run (captured and rendered) is free of the people's personal data."""
    generate(tmp_path / "in", people=30, employers=2, bodies=1, months=2, seed=9, rates=Rates(defects=0.3))
    people = [line.decode("latin-1").split(",'", 1)[1].rstrip("'") for path in (tmp_path / "in").rglob("*.dsn")
              for line in path.read_bytes().splitlines()
              if line[:14] in (b"S21.G00.30.001", b"S21.G00.30.002", b"S21.G00.30.004", b"S21.G00.30.006")]
    assert people
    log.configure(json=True, force=True)
    with capture_logs() as events:
        run(Settings((str(tmp_path / "in"),), str(tmp_path / "out"), TEST_KEY))
    rendered = json.dumps(events) + capsys.readouterr().err
    assert any(event["event"] == "run.completed" for event in events)
    assert not [value for value in set(people) if len(value) > 3 and value in rendered]


def test_the_denylist_processor_removes_personal_keys():
    assert log._drop_personal_data(None, "info", {"event": "x", "nir": "1850375111042"})["nir"] == "[removed]"
