"""A run written to object storage against the same run on disk: what each file's upload costs a run.

    python -m bench.object_storage [--repeat 3] [--out bench/results/object_storage.json]

The flows: the bundled edge cases and one month of the bundled generated flows (as tests/transforms/
test_object_storage.py runs them), read from disk. The run writes its datasets, reports, history and register to
``s3://`` on an S3-compatible server on 127.0.0.1 (``DRM_GATEWAY_TEST_S3``, else moto's server, started here: it is
installed with the ``test`` extra), then to a local folder; best and median of ``--repeat`` each, in turns, each
into a new prefix or folder. A request to moto costs a few milliseconds, to a real store some tens: the figures
say how many round trips a run makes more than where they go.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from fixtures.object_store import s3_endpoint
from gateway.options import Settings
from gateway.pseudonym import DEMO_KEY
from gateway.run import run
from gateway.storage import list_files

BUNDLED = Path(__file__).resolve().parent.parent / "fixtures" / "bundled"
BUCKET = "drm-gateway-bench"


def _timed(flows: Path, out: str) -> tuple[float, int]:
    started = time.perf_counter()
    run(Settings((str(flows),), out, DEMO_KEY, arrival="folder"))
    return time.perf_counter() - started, len(list_files(out))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default="bench/results/object_storage.json")
    args = parser.parse_args()
    from gateway import log
    log.configure(json=True)
    with tempfile.TemporaryDirectory() as tmp, s3_endpoint() as endpoint:
        if endpoint is None:
            raise SystemExit("no S3-compatible server: set DRM_GATEWAY_TEST_S3 or pip install -e '.[test]' (moto)")
        flows = Path(tmp) / "flows"
        shutil.copytree(BUNDLED / "edge", flows / "edge")
        shutil.copytree(BUNDLED / "generated" / "2025-04", flows / "generated" / "2025-04")
        os.environ.update({"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                           "AWS_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true"})
        import boto3                                        # with moto, in the test extra
        client = boto3.client("s3")
        if BUCKET not in {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}:
            client.create_bucket(Bucket=BUCKET)
        _timed(flows, str(Path(tmp) / "warm"))          # imports and first-use costs out of the figures
        seconds: dict[str, list[float]] = {"disk": [], "object_storage": []}
        files = {}
        for attempt in range(args.repeat):
            for name, out in (("object_storage", f"s3://{BUCKET}/out{attempt}"), ("disk", str(Path(tmp) / f"out{attempt}"))):
                spent, files[name] = _timed(flows, out)
                seconds[name].append(spent)
    rows = {name: {"seconds": round(min(values), 2), "median_seconds": round(statistics.median(values), 2),
                   "files": files[name]} for name, values in seconds.items()}
    for name, row in rows.items():
        print(f"{name:<15} {row['seconds']:>6.2f} s best, {row['median_seconds']:>6.2f} s median, {row['files']} files")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"repeat": args.repeat, **rows,
                                          "ratio": round(rows["object_storage"]["seconds"] / rows["disk"]["seconds"], 2)},
                                         indent=1) + "\n")


if __name__ == "__main__":
    main()
