"""As-of reproduction: flags and bases of every bucket, recomputed from the register as known at a date."""
from __future__ import annotations

from pathlib import Path

from gateway.errors import ConfigurationError
from gateway.policy import load_policy
from gateway.publish.datasets import write_partition
from gateway.bucket import derive
from gateway.versioning import store
from gateway.versioning.floating import floating_rules
from schemas.records import FLOATING_FLAG, REFERENCE_BASE


def replay(root: Path, as_of: str, target: Path, policy_path: str | None = None) -> dict[str, int]:
    """Write ``target/flags/part-NN.parquet`` and ``target/bases/part-NN.parquet`` for every bucket that
    has people, exactly as a run with transaction time ``as_of`` wrote them."""
    import gateway.validate.rules  # noqa: F401  (registers the default catalogue)
    from gateway.validate.registry import DEFAULT_RULES
    commits = store.commits(root)
    if not commits:
        raise ConfigurationError(f"no register @ {root}: expected the history of completed runs")
    policy = load_policy(policy_path)
    committed = [c.run_id for c in commits]
    declarations = store.load_declarations(root, committed)
    declarant_rows = store.load_declarant_rows(root, committed)
    rules = floating_rules(DEFAULT_RULES)
    counts = {"flags": 0, "bases": 0}
    for bucket in range(store.buckets_of(root)):
        state = store.load_bucket(root, bucket, committed)
        if not state.versions and not state.mentions:
            continue
        derived = derive(state, declarations, declarant_rows, as_of, policy, rules)
        part = f"part-{bucket:02d}"
        write_partition(str(target), "flags", part, FLOATING_FLAG, derived.flags, avro=False)
        write_partition(str(target), "bases", part, REFERENCE_BASE,
                        sorted(derived.bases, key=lambda b: (b.person_key, b.benefit)), avro=False)
        counts["flags"] += len(derived.flags)
        counts["bases"] += len(derived.bases)
    return counts
