"""Known NIRs, names and birth dates go in; none comes out in logs, reports or analysis datasets.
Only the liquidation feed (resources, Parquet and Avro) and the register carry the NIR, as documented."""
import os
import subprocess
import sys

import fastavro
import pyarrow.dataset as ds

from fixtures.generator import Rates, generate
from tests.conftest import TEST_KEY

ENV = {**os.environ, "DRM_GATEWAY_PSEUDONYM_KEY": TEST_KEY.decode()}
LIQUIDATION_FEED = ("resources", "avro", "register")   # the feed and the register carry the NIR, by design


def _people(flows) -> dict[str, set[str]]:
    found = {"nir": set(), "name": set(), "birth_date": set()}
    kinds = {b"S21.G00.30.001": "nir", b"S21.G00.30.002": "name", b"S21.G00.30.004": "name",
             b"S21.G00.30.006": "birth_date"}
    for path in flows.rglob("*.dsn"):
        for line in path.read_bytes().splitlines():
            kind = kinds.get(line[:14])
            if kind and line.endswith(b"'"):
                value = line[16:-1].decode("latin-1")
                if len(value) >= 5:             # short first names (PAUL) would match ordinary words
                    found[kind].add(value)
    return found


def _texts(out) -> dict[str, str]:
    """Every output as text: Parquet and Avro decoded row by row, the rest as it is on disk."""
    texts = {}
    for path in out.rglob("*"):
        if not path.is_file() or path.name.endswith(".lock"):
            continue
        if path.suffix == ".parquet":
            texts[str(path)] = repr(ds.dataset(path, format="parquet").to_table().to_pylist())
        elif path.suffix == ".avro":
            with open(path, "rb") as fh:
                texts[str(path)] = repr(list(fastavro.reader(fh)))
        else:
            texts[str(path)] = path.read_bytes().decode("utf-8", errors="replace")
    return texts


def test_no_personal_data_in_logs_reports_or_analysis_outputs(tmp_path):
    flows = tmp_path / "flows"
    generate(flows, people=80, employers=4, bodies=2, months=3, seed=13, rates=Rates(defects=0.3))
    people = _people(flows)
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "gateway", "run", str(flows), "--out", str(out)],
                          capture_output=True, text=True, env=ENV, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    texts = _texts(out)
    texts["stdout+stderr"] = done.stdout + done.stderr
    hits = {kind: {where for where, text in texts.items() for value in values if value in text
                   and not (kind == "nir" and any(f"/{feed}/" in where for feed in LIQUIDATION_FEED))}
            for kind, values in people.items()}
    scanned = sum(len(values) for values in people.values())
    print(f"scanned {len(texts)} outputs for {scanned} personal values: hits {hits}")
    assert scanned > 100 and hits == {"nir": set(), "name": set(), "birth_date": set()}
    feed = texts[next(where for where in texts if "/resources/" in where)]
    assert any(nir in feed for nir in people["nir"])      # the liquidation feed does carry NIRs
