"""Command-line options -> a frozen Settings, once. Domain code never reads options or env; Beam's own
pipeline options pass through untouched (``beam_args``) to the Beam edge (``transforms.pipeline``)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Settings:
    inputs: tuple[str, ...]
    out: str
    pseudonym_key: bytes = field(repr=False)
    beam_args: tuple[str, ...] = ()
    history: str | None = None        # folder kept across runs (default OUT/history)
    register: str | None = None       # the register (default HISTORY/register)
    as_of: str | None = None          # transaction time for every input (default: each file's arrival)
    policy: str | None = None         # policy file (default: the shipped gateway/policy/default.yaml)
    arrival: str = "mtime"            # where a file's arrival comes from: mtime, or its YYYY-MM[-DD] folder
    open_requests: str | None = None  # JSON lines (person_key, month) of open correction requests (the gate holds)
    buckets: int | None = None        # person buckets and declaration shards of a new register, fixed
                                      # (default: following its size, gateway.versioning.sizing)
    people_per_bucket: int | None = None   # a new register's bucket size when its count follows its size
    reference_path: bool = False      # every declaration and person rule run on every subject, every declaration
                                      # through its block tree (no certificate, no columnar path): the oracle
                                      # the fast path is proven equal to (same outputs), slower
    rederive_all: bool = False        # derive every person of the buckets a run touches, even when the last
                                      # run derived under the same month, policy and release
