"""Where a run writes: one object for every path of an output folder, its history and its register, so that
no module builds ``out / "history" / "register"`` by hand.

    OUT/                 datasets (resources, quarantine, warnings, flags, bases, published, decisions, avro/),
                         run.json, report/, outbox/ (correction notices), corrections.db (embedded store)
    OUT/history/         kept across runs (``--history``): quarantine and warnings per run, metrics/
    OUT/history/register the bitemporal register (``--register``)

Any of the three may be on object storage (``s3://bucket/prefix``): its paths are then ``ObjectPath``s.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gateway.storage import ObjectPath, location


@dataclass(frozen=True)
class RunLayout:
    out: Path | ObjectPath          # an ObjectPath when the output folder is a URI (s3://…): gateway.storage
    history: Path | ObjectPath
    register: Path | ObjectPath

    @classmethod
    def of(cls, out: str | os.PathLike, *, history: str | os.PathLike | None = None,
           register: str | os.PathLike | None = None) -> "RunLayout":
        """The layout of output folder ``out``; the history and the register default to folders inside it."""
        out = location(out)
        history_dir = location(history) if history else out / "history"
        return cls(out, history_dir, location(register) if register else history_dir / "register")

    def dataset(self, name: str) -> Path:
        return self.out / name

    @property
    def manifest(self) -> Path:
        return self.out / "run.json"

    @property
    def report(self) -> Path:
        return self.out / "report"

    @property
    def staging(self) -> Path:
        return self.out / ".staging"

    @property
    def outbox(self) -> Path:
        return self.out / "outbox"

    @property
    def corrections_db(self) -> Path:
        return self.out / "corrections.db"

    @property
    def open_requests(self) -> Path:
        return self.out / ".open-requests.jsonl"

    @property
    def run_lock(self) -> Path:
        return self.out / ".run.lock"

    @property
    def register_lock(self) -> Path:
        return self.register / ".register.lock"

    @property
    def metrics(self) -> Path:
        return self.history / "metrics"


__all__ = ["RunLayout"]
