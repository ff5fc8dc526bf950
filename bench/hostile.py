"""Long versions of the hostile-input tests: big files that CI does not run.

    python -m bench.hostile [--declarations 100000] [--rubrics 1000000] [--people 80000]

Each file is run through ``drm-gateway run`` in its own process; prints the outcome (lines read,
quarantined, rules), time and peak memory (RSS), and writes bench/results/hostile.json.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from bench.peak import run_gateway
from fixtures.hostile import big_declaration, huge_block, many_declarations

KEY = "bench-hostile-key-0123456789abcdef"


def measure(name: str, content: bytes, folder: Path) -> dict:
    path = folder / f"{name}.dsn"
    path.write_bytes(content)
    del content
    started = time.perf_counter()
    status, peak_mb, _ = run_gateway(["run", str(path), "--out", str(folder / name)],
                                     {**os.environ, "DRM_GATEWAY_PSEUDONYM_KEY": KEY})
    seconds = time.perf_counter() - started
    manifest = json.loads((folder / name / "run.json").read_text())
    metrics = json.loads((folder / name / "report" / "metrics.json").read_text())
    return {"input": name, "bytes": path.stat().st_size, "exit": status,
            "lines_read": manifest["lines_read"], "lines_quarantined": manifest["lines_quarantined"],
            "conservation": manifest["conservation_holds"], "rules": sorted(r["rule_id"] for r in metrics["by_rule"]),
            "seconds": round(seconds, 1), "peak_rss_mb": round(peak_mb)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--declarations", type=int, default=100_000)
    parser.add_argument("--rubrics", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=80_000, help="people in one big declaration")
    parser.add_argument("--out", default="bench/results/hostile.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [measure(f"{args.declarations}_declarations", many_declarations(args.declarations), Path(tmp)),
                measure(f"block_with_{args.rubrics}_rubrics", huge_block(args.rubrics), Path(tmp)),
                measure(f"one_declaration_of_{args.people}_people", big_declaration(args.people), Path(tmp))]
    for row in rows:
        print(f"{row['input']:<32} {row['lines_read']:>10,} lines  quarantined {row['lines_quarantined']:>10,}  "
              f"{row['seconds']:>6.1f} s  peak {row['peak_rss_mb']:>5} MB  rules {','.join(row['rules']) or '-'}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
