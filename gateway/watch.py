"""``drm-gateway run --watch DIR --out OUT``: process each new file of DIR exactly once.

Convention for producers: write a file under a temporary name (ending in ``.part`` or ``.tmp``,
or starting with a dot) and rename it when complete; renaming is atomic, so a file with its final
name is whole. Complete files are taken in arrival order (modification time, then name) in
batches of at most ``batch_size``; batch number N is run into ``OUT/batches/N/`` (one Beam run per
batch, the history shared in ``OUT/history``) and then recorded, with the name and SHA-256 of each
of its files, as one line of ``OUT/watch-ledger.jsonl``. A batch cut off by a crash was never
recorded: after a restart its files are taken again, as batch N again, and its folder is
rewritten. So no file is lost or processed twice, and a backlog costs one pipeline start per batch.
"""
from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from typing import Callable

import structlog

from gateway.errors import ConfigurationError
from gateway.options import Settings
from gateway.inputs import IGNORED_SUFFIXES, file_digest
from gateway.layout import RunLayout
from gateway.run import RunResult, run

LEDGER = "watch-ledger.jsonl"
BATCH_SIZE = 500
_log = structlog.get_logger()


def ready_files(folder: Path) -> list[Path]:
    """Complete files of ``folder`` in arrival order (modification time, then name)."""
    files = [path for path in folder.iterdir()
             if path.is_file() and not path.name.startswith(".") and not path.name.endswith(IGNORED_SUFFIXES)]
    return sorted(files, key=lambda path: (path.stat().st_mtime_ns, path.name))


def ledger(out: Path) -> list[dict]:
    path = out / LEDGER
    if not path.exists():
        return []
    batches = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            batches.append(json.loads(line))
        except json.JSONDecodeError:      # a torn last line from a crash: that batch is simply redone
            continue
    return batches


def _record(out: Path, entry: dict) -> None:
    with open(out / LEDGER, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def watch_folder(folder: Path, out: Path, key: bytes, beam_args: tuple[str, ...], *, interval: float = 2.0,
                 once: bool = False, batch_size: int = BATCH_SIZE,
                 report: Callable[[str, RunResult], None] | None = None) -> int:
    """Process the new files of ``folder`` until stopped (or, with ``once``, until none is left)."""
    if not folder.is_dir():
        raise ConfigurationError(f"watched folder not found @ {folder}: expected a directory")
    out.mkdir(parents=True, exist_ok=True)
    lock = open(out / ".watch.lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise ConfigurationError(f"another watcher is already writing @ {out}: expected one at a time") from None
    processed = 0
    try:
        while True:
            batches = ledger(out)
            done = {(f["file"], f["sha256"]) for batch in batches for f in batch["files"]}
            pending = []
            for path in ready_files(folder):
                digest = file_digest(str(path))
                if (path.name, digest) not in done:
                    pending.append((path, digest))
                if len(pending) == batch_size:
                    break
            if pending:
                number = len(batches) + 1
                target = out / "batches" / f"{number:06d}"
                result = run(Settings(tuple(str(path) for path, _ in pending), str(target), key, beam_args,
                                      history=str(RunLayout.of(out).history)))
                _record(out, {"batch": number, "out": str(target.relative_to(out)),
                              "files": [{"file": path.name, "sha256": digest} for path, digest in pending]})
                _log.info("batch.processed", batch=number, files=len(pending), lines_read=result.manifest["lines_read"])
                if report:
                    report(f"batch {number} ({len(pending)} files)", result)
                processed += len(pending)
                continue
            if once:
                return processed
            time.sleep(interval)
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
