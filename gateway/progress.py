"""Progress of a long run: each unit of work (a group of files indexed, a task of declarations processed) leaves a
small marker in the run's staging folder, wherever its worker runs; the driver reads them once a second and says
how many files and lines are done, at what rate, and about how long is left (bytes read out of the inputs' size).
Markers are plain JSON files under ``STAGING/_progress`` (local or object storage), removed with the staging."""
from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from typing import Callable

from gateway.storage import list_files, read_bytes, write_text

PROGRESS = "_progress"


def mark(staging: str, unit: str, *, files: int = 0, lines: int = 0, size: int = 0) -> None:
    """A unit of work is done: ``files`` indexed, ``lines`` processed, ``size`` bytes of input read. ``unit``
    names it (a retried unit rewrites its own marker: counted once)."""
    name = hashlib.sha256(unit.encode("utf-8", "surrogatepass")).hexdigest()[:20]
    write_text(f"{staging}/{PROGRESS}/{name}.json", json.dumps({"files": files, "lines": lines, "bytes": size}))


@dataclass(frozen=True)
class Snapshot:
    files_done: int
    files: int
    lines_done: int
    bytes_done: int
    bytes: int
    seconds: float

    @property
    def lines_per_second(self) -> float:
        return self.lines_done / self.seconds if self.seconds > 0 else 0.0

    @property
    def seconds_left(self) -> float | None:
        """Time left at the rate so far, by the share of the inputs' bytes read; None before anything is read."""
        if not self.bytes_done or not self.bytes:
            return None
        share = min(1.0, self.bytes_done / self.bytes)
        return self.seconds * (1 - share) / share

    def as_event(self) -> dict:
        left = self.seconds_left
        return {"files_done": self.files_done, "files": self.files, "lines_done": self.lines_done,
                "bytes_done": self.bytes_done, "bytes": self.bytes, "lines_per_second": round(self.lines_per_second),
                "seconds": round(self.seconds, 1), "seconds_left": None if left is None else round(left)}

    def line(self) -> str:
        """One line for a terminal: files and lines done, rate, time left."""
        left = self.seconds_left
        eta = "" if left is None else f", ~{int(left) // 60}:{int(left) % 60:02d} left"
        return (f"{self.files_done:,}/{self.files:,} files, {self.lines_done:,} lines, "
                f"{self.lines_per_second / 1e6:.2f} M lines/s{eta}")


class Watcher(threading.Thread):
    """Reads the markers of a run's staging once per ``interval`` and hands each new total to ``report`` (from
    this thread), a last time when stopped. Used as a context manager around the pipeline."""

    def __init__(self, staging: str, files: int, size: int, report: Callable[[Snapshot], None],
                 interval: float = 1.0) -> None:
        super().__init__(name="progress", daemon=True)
        self._folder = f"{staging}/{PROGRESS}"
        self._totals = {"files": 0, "lines": 0, "bytes": 0}
        self._seen: set[str] = set()
        self._files, self._size, self._report, self._interval = files, size, report, interval
        self._since = time.monotonic()
        self._halt = threading.Event()

    def snapshot(self) -> Snapshot:
        for path in list_files(self._folder):
            if path not in self._seen:
                try:
                    found = json.loads(read_bytes(path))
                except (OSError, ValueError):
                    continue                                  # being written: read at the next poll
                self._seen.add(path)
                for key in self._totals:
                    self._totals[key] += int(found.get(key, 0))
        return Snapshot(self._totals["files"], self._files, self._totals["lines"], self._totals["bytes"], self._size,
                        time.monotonic() - self._since)

    def run(self) -> None:
        while not self._halt.wait(self._interval):
            self._report(self.snapshot())

    def __enter__(self) -> "Watcher":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self._halt.set()
        self.join()
        if exc[0] is None:
            self._report(self.snapshot())
