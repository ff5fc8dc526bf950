"""An in-memory register for tests: outcomes in, versions, flags and bases out (one bucket holds everyone)."""
from __future__ import annotations

from gateway.gate.estimate import LinearEstimator
from gateway.policy import load_policy
from gateway.validate.registry import DEFAULT_RULES
from gateway.bucket import GateInputs, committed, derive, process_bucket
from gateway.versioning.floating import floating_rules
from gateway.versioning.register import BucketState, contributions_of, declaration_of_summary, mentions_of


class Ledger:
    def __init__(self, policy=None) -> None:
        self.policy = policy or load_policy()
        self.rules = floating_rules(DEFAULT_RULES)
        self.declarations = []
        self.state = BucketState()
        self.declarant_rows = []
        self.runs = 0
        self.open_requests: dict[str, frozenset[str]] = {}
        self.officer = {}

    def ingest(self, outcomes, when: str):
        """Merge outcomes that arrived at ``when``; returns the bucket result (new versions, flags, bases)."""
        self.runs += 1
        arriving = sorted((declaration_of_summary(s, when) for o in outcomes for s in o.summaries),
                          key=lambda d: (d.transaction_time, d.file, d.first_line))
        result = process_bucket(self.state, known=self.declarations, arriving=arriving,
                                contributions=[c for o in outcomes for c in contributions_of(o.resources)],
                                mentions=[m for o in outcomes for m in mentions_of(o)], run_id=f"r{self.runs}",
                                as_of=when, policy=self.policy, rules=self.rules, declarant_rows=self.declarant_rows,
                                gate=GateInputs(self.open_requests, self.officer, LinearEstimator()))
        known = {d.digest for d in self.declarations}
        self.declarations += [d for d in arriving if d.digest not in known]
        self.state = committed(self.state, result)
        self.declarant_rows += [{"declarant_id": d, "months_added": c[0], "months_revised": c[1],
                                 "transaction_time": when} for d, c in result.declarants.items()]
        return result

    def at(self, when: str):
        return derive(self.state, self.declarations, self.declarant_rows, when, self.policy, self.rules)
