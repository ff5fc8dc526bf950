"""``drm-gateway run --watch DIR --out OUT``: process each new file of DIR exactly once.

Convention for producers: write a file under a temporary name (ending in ``.part`` or ``.tmp``,
or starting with a dot) and rename it when complete; renaming is atomic, so a file with its final
name is whole. Files in subfolders are taken too (the ledger names them by their path in DIR); a file is hashed
once, when it is new or changed (path, size, modification time), not at every scan; with ``--move-done DIR2``
processed files are moved out of the watched folder. Complete files are taken in arrival order (modification time,
then path) in
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


def ready_files(folder: Path) -> list[tuple[Path, str, os.stat_result]]:
    """Complete files of ``folder`` and of its subfolders (hidden and temporary names aside), in arrival order
    (modification time, then path): each with its path relative to ``folder`` and its stat (read once)."""
    found: list[tuple[Path, str, os.stat_result]] = []
    stack = [folder]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.name.startswith(".") or entry.name.endswith(IGNORED_SUFFIXES):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif entry.is_file():
                    path = Path(entry.path)
                    found.append((path, path.relative_to(folder).as_posix(), entry.stat()))
    return sorted(found, key=lambda item: (item[2].st_mtime_ns, item[1]))


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


class _Known:
    """What the ledger says is done, and the digests already computed: a file is hashed once, when it is new or
    changed (same path, size and modification time: the same file), not at every scan."""

    def __init__(self, batches: list[dict]) -> None:
        self.digests = {(f["file"], f["sha256"]) for batch in batches for f in batch["files"]}
        self.stats = {(f["file"], f["size"], f["mtime_ns"]) for batch in batches for f in batch["files"]
                      if "size" in f}
        self._cache: dict[tuple, str] = {}

    def pending(self, path: Path, relative: str, stat: os.stat_result) -> str | None:
        """The file's digest when it still has to be processed, else None."""
        signature = (relative, stat.st_size, stat.st_mtime_ns)
        if signature in self.stats:
            return None
        digest = self._cache.get(signature) or file_digest(str(path))
        self._cache[signature] = digest
        if (relative, digest) in self.digests:
            self.stats.add(signature)
            return None
        return digest

    def add(self, files: list[dict]) -> None:
        self.digests.update((f["file"], f["sha256"]) for f in files)
        self.stats.update((f["file"], f["size"], f["mtime_ns"]) for f in files)


def _move_done(folder: Path, done: Path, known: _Known) -> None:
    """Move the files the ledger holds out of the watched folder (same relative paths)."""
    for path, relative, stat in ready_files(folder):
        if (relative, stat.st_size, stat.st_mtime_ns) in known.stats:
            target = done / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)


def watch_folder(folder: Path, out: Path, key: bytes, beam_args: tuple[str, ...], *, interval: float = 2.0,
                 once: bool = False, batch_size: int = BATCH_SIZE, move_done: Path | None = None,
                 report: Callable[[str, RunResult], None] | None = None,
                 say: Callable[[str], None] = lambda text: None) -> int:
    """Process the new files of ``folder`` (and of its subfolders) until stopped (or, with ``once``, until none is
    left); with ``move_done``, processed files are moved there."""
    if not folder.is_dir():
        raise ConfigurationError(f"watched folder not found @ {folder}: expected a directory")
    if move_done is not None and move_done.resolve().is_relative_to(folder.resolve()):
        raise ConfigurationError(f"--move-done inside the watched folder @ {move_done}: expected a folder outside it")
    out.mkdir(parents=True, exist_ok=True)
    lock = open(out / ".watch.lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise ConfigurationError(f"another watcher is already writing @ {out}: expected one at a time") from None
    processed = batches_run = 0
    batches = ledger(out)
    known = _Known(batches)
    say(f"watching {folder} and its subfolders (hidden names and names ending {', '.join(IGNORED_SUFFIXES)} are "
        f"skipped: producers write under .part and rename): batches of at most {batch_size} files into {out / 'batches'}"
        + (f", processed files moved to {move_done}" if move_done else "")
        + (", until nothing is left" if once else f", scanning every {interval:g} s; Ctrl-C stops"))
    try:
        while True:
            if move_done is not None:
                _move_done(folder, move_done, known)
            pending = []
            for path, relative, stat in ready_files(folder):
                digest = known.pending(path, relative, stat)
                if digest is not None:
                    pending.append((path, relative, stat, digest))
                if len(pending) == batch_size:
                    break
            if pending:
                number = len(batches) + 1
                target = out / "batches" / f"{number:06d}"
                result = run(Settings(tuple(str(path) for path, *_ in pending), str(target), key, beam_args,
                                      history=str(RunLayout.of(out).history)))
                files = [{"file": relative, "sha256": digest, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
                         for _, relative, stat, digest in pending]
                entry = {"batch": number, "out": str(target.relative_to(out)), "files": files}
                _record(out, entry)
                batches.append(entry)
                known.add(files)
                _log.info("batch.processed", batch=number, files=len(pending), lines_read=result.manifest["lines_read"])
                if report:
                    report(f"batch {number} ({len(pending)} files)", result)
                processed += len(pending)
                batches_run += 1
                continue
            if once:
                break
            time.sleep(interval)
    except KeyboardInterrupt:
        pass
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
        say(f"watch stopped: {processed} file(s) processed in {batches_run} batch(es) this time; the ledger is "
            f"{out / LEDGER}")
    return processed
