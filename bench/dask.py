"""A whole run on the embedded runner and on Dask (a local cluster of worker processes), same flows, same code:

    python -m bench.dask [--people 4000] [--employers 40] [--months 5] [--workers 2] [--repeat 2]

Prints seconds and lines/s of each (the shortest of ``--repeat`` runs), and checks the outputs are identical.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

DASK_RUNNER = "--runner=apache_beam.runners.dask.dask_runner.DaskRunner"


def _timed(flows: Path, out: Path, beam_args: tuple[str, ...]) -> tuple[float, int]:
    from gateway.options import Settings
    from gateway.pseudonym import DEMO_KEY
    from gateway.run import run
    started = time.perf_counter()
    result = run(Settings((str(flows),), str(out), DEMO_KEY, beam_args=beam_args))
    return time.perf_counter() - started, result.manifest["lines_read"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=4000)
    parser.add_argument("--employers", type=int, default=40)
    parser.add_argument("--months", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    from distributed import LocalCluster

    from bench.launch import bench_flows
    from tools.output_digest import digests
    with tempfile.TemporaryDirectory() as tmp, LocalCluster(
            n_workers=args.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None) as cluster:
        root = Path(tmp)
        bench_flows(root / "flows", args.people, args.employers, args.months)
        address = cluster.scheduler_address.removeprefix("tcp://")
        rows = {}
        for name, beam_args in (("embedded", ()), (f"dask, {args.workers} workers",
                                                   (DASK_RUNNER, f"--dask_client_address={address}"))):
            times = []
            for attempt in range(args.repeat):
                seconds, lines = _timed(root / "flows", root / f"{name[:4]}-{attempt}", beam_args)
                times.append(seconds)
            rows[name] = (min(times), lines, root / f"{name[:4]}-0")
        print(f"\n{args.people} people, {args.months} months")
        for name, (seconds, lines, _) in rows.items():
            print(f"{name:<20} {lines:>12,} lines {seconds:>8.2f} s {lines / seconds:>12,.0f} lines/s")
        outputs = [dict((n, d) for d, n in digests(out)) for _, _, out in rows.values()]
        print("outputs identical:", outputs[0] == outputs[1])
        close_clients()


def close_clients() -> None:
    """The runner's own clients, closed before the cluster stops (else they log reconnection tracebacks)."""
    import logging
    from distributed import Client
    for client in list(Client._instances):
        client.close()
    logging.getLogger("distributed").setLevel(logging.CRITICAL)


if __name__ == "__main__":
    main()
