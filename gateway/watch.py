"""``drm-gateway run --watch DIR --out OUT``: process each new file of DIR exactly once.

Convention for producers: write a file under a temporary name (ending in ``.part`` or ``.tmp``,
or starting with a dot) and rename it when complete; renaming is atomic, so a file with its final
name is whole. Each file is run into ``OUT/files/<name>/`` and then recorded in
``OUT/watch-ledger.jsonl``. After a crash, a file whose run finished but was not yet recorded is
run again into the same folder, which gives identical outputs: no file is lost or counted twice.
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
from gateway.run import IGNORED_SUFFIXES, RunResult, _digest, run

LEDGER = "watch-ledger.jsonl"
_log = structlog.get_logger()


def ready_files(folder: Path) -> list[Path]:
    """Complete files of ``folder`` in arrival order (modification time, then name)."""
    files = [path for path in folder.iterdir()
             if path.is_file() and not path.name.startswith(".") and not path.name.endswith(IGNORED_SUFFIXES)]
    return sorted(files, key=lambda path: (path.stat().st_mtime_ns, path.name))


def processed(out: Path) -> set[tuple[str, str]]:
    ledger = out / LEDGER
    if not ledger.exists():
        return set()
    done = set()
    for line in ledger.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:      # a torn last line from a crash: that file is simply redone
            continue
        done.add((entry["file"], entry["sha256"]))
    return done


def _record(out: Path, entry: dict) -> None:
    with open(out / LEDGER, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def watch_folder(folder: Path, out: Path, key: bytes, beam_args: tuple[str, ...], *, interval: float = 2.0,
                 once: bool = False, report: Callable[[str, RunResult], None] | None = None) -> int:
    if not folder.is_dir():
        raise ConfigurationError(f"watched folder not found @ {folder}: expected a directory")
    out.mkdir(parents=True, exist_ok=True)
    lock = open(out / ".watch.lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise ConfigurationError(f"another watcher is already writing @ {out}: expected one at a time") from None
    count = 0
    try:
        while True:
            done = processed(out)
            for path in ready_files(folder):
                digest = _digest(str(path))
                if (path.name, digest) in done:
                    continue
                target = out / "files" / path.name
                result = run(Settings((str(path),), str(target), key, beam_args, history=str(out / "history")))
                _record(out, {"file": path.name, "sha256": digest, "out": str(target.relative_to(out))})
                _log.info("file.processed", file=path.name, lines_read=result.manifest["lines_read"])
                if report:
                    report(path.name, result)
                count += 1
            if once:
                return count
            time.sleep(interval)
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
