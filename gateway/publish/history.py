"""What is kept across runs: the quarantine and warnings of every run (append-only, one partition per
run, rewritten identically when the same inputs are run again) and per-declarant metrics, with a
check of each declarant's figures against its own history (Deequ-style anomaly detection)."""
from __future__ import annotations

import json
from pathlib import Path

from gateway.storage import copy_tree, remove_tree, write_json

WINDOW = 6                 # previous runs a declarant is compared with


def compared(history: Path, run_id: str, by_declarant: dict[str, dict]) -> dict:
    """The run's place in the history (sequence) and the anomalies of its per-declarant figures against earlier
    runs; reads the history, writes nothing (a run compares before its reports are written, records after)."""
    sequences = _sequences(history)
    sequence = sequences.get(run_id) or max(sequences.values(), default=0) + 1
    window = sorted((s, r) for r, s in sequences.items() if s < sequence)[-WINDOW:]
    earlier = [_load_run(history, r) for _, r in window]
    return {"sequence": sequence, "anomalies": check_anomalies(by_declarant, earlier)}


def record_run(history: Path, out: Path, run_id: str, metrics: dict, place: dict | None = None,
               summary: dict | None = None) -> dict:
    """Copy this run's quarantine and warnings into the history and store its metrics (with ``summary``: the run's
    time, output folder, floating rate and gate decisions, for the index of runs); return the run's place in the
    history (``compared``, computed here unless given)."""
    place = place or compared(history, run_id, metrics["by_declarant"])
    for dataset in ("quarantine", "warnings"):
        target = history / dataset / f"run={run_id}"
        remove_tree(target)
        if (out / dataset).exists():
            copy_tree(out / dataset, target)
    write_json(history / "metrics" / f"{run_id}.json",
               {"run_id": run_id, "sequence": place["sequence"], "by_declarant": metrics["by_declarant"],
                "volumes": metrics["volumes"], **(summary or {})})
    write_json(history / "metrics" / SEQUENCES, {**_sequences(history), run_id: place["sequence"]})
    return place


def runs(history: Path, *, upto: int | None = None, last: int | None = None) -> list[dict]:
    """The runs recorded in the history, batch or watch mode, in order: their volumes, quarantine and floating
    rates and gate decisions (the index of runs the console and the run report show, with their trend). Only
    those up to sequence ``upto``, and the ``last`` of them: only their files are read."""
    chosen = sorted((sequence, run_id) for run_id, sequence in _sequences(history).items()
                    if upto is None or sequence <= upto)
    found = []
    for sequence, run_id in chosen[-last:] if last else chosen:
        record = _load_run(history, run_id)
        volumes = record.get("volumes", {})
        read = volumes.get("lines_read", 0)
        found.append({"run_id": run_id, "sequence": sequence, "as_of": record.get("as_of"),
                      "folder": record.get("folder"), "files": volumes.get("files", 0), "lines_read": read,
                      "quarantine_rate": volumes.get("lines_quarantined", 0) / read if read else None,
                      "floating_rate": record.get("floating_rate"), "decisions": record.get("decisions")})
    return found


SEQUENCES = "_sequences.json"      # run id -> sequence: a run reads the metrics of its WINDOW predecessors only


def _sequences(history: Path) -> dict[str, int]:
    """Each recorded run's sequence number, from the index; a run's own file is read only when the index
    does not have it (a history written before the index, or a crash between the two writes)."""
    folder = history / "metrics"
    if not folder.exists():
        return {}
    recorded = {path.stem: path for path in folder.glob("*.json") if path.name != SEQUENCES}
    index = folder / SEQUENCES
    known = json.loads(index.read_text(encoding="utf-8")) if index.exists() else {}
    return {run_id: known[run_id] if run_id in known else _read(path)["sequence"]
            for run_id, path in sorted(recorded.items())}


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _load_run(history: Path, run_id: str) -> dict:
    return _read(history / "metrics" / f"{run_id}.json")


def check_anomalies(current: dict[str, dict], earlier: list[dict]) -> list[dict]:
    """History rules of the registry, for every declarant that has a past."""
    import gateway.validate.rules  # noqa: F401  (registers the default catalogue)
    from gateway.validate.registry import DEFAULT_RULES, Target
    out = []
    for declarant, figures in sorted(current.items()):
        past = [run["by_declarant"][declarant] for run in earlier[-WINDOW:] if declarant in run["by_declarant"]]
        if not past:
            continue
        for violation in DEFAULT_RULES.check(Target.HISTORY, declarant, figures, past):
            out.append({"rule_id": violation.rule_id, "declarant_id": declarant, "metric": violation.rubric,
                        "detail": violation.detail, "explain": violation.explain, "runs_compared": len(past),
                        "value": figures.get(violation.rubric, 0)})
    return out
