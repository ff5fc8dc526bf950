"""As-of reproduction: flags and bases of every bucket, recomputed from the register as known at a date."""
from __future__ import annotations

from pathlib import Path

from gateway.errors import ConfigurationError
from gateway.policy import load_policy
from gateway.publish.datasets import bucket_of, write_partition
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
    # The run at as_of numbered its partitions by the register's bucket count then (it may have been resized
    # since: gateway.versioning.sizing); a person's flags and bases depend on their own rows only.
    count = next((c.bucket_count for c in reversed(commits) if c.transaction_time <= as_of and c.bucket_count),
                 store.buckets_of(root))
    flags: dict[int, list] = {}
    bases: dict[int, list] = {}
    for bucket in range(store.buckets_of(root)):
        state = store.load_bucket(root, bucket, committed)
        if not state.versions and not state.mentions:
            continue
        derived = derive(state, declarations, declarant_rows, as_of, policy, rules)
        for item in (*state.versions, *state.mentions):     # a part for every bucket that has people
            flags.setdefault(bucket_of(item.person_key, count), [])
        for flag in derived.flags:
            flags.setdefault(bucket_of(flag.person_key, count), []).append(flag)
        for base in derived.bases:
            bases.setdefault(bucket_of(base.person_key, count), []).append(base)
    for part in sorted({*flags, *bases}):
        name = f"part-{part:02d}"
        write_partition(str(target), "flags", name, FLOATING_FLAG,       # derive's order: by person (stable)
                        sorted(flags.get(part, []), key=lambda f: f.person_key), avro=False)
        write_partition(str(target), "bases", name, REFERENCE_BASE,
                        sorted(bases.get(part, []), key=lambda b: (b.person_key, b.benefit)), avro=False)
    return {"flags": sum(map(len, flags.values())), "bases": sum(map(len, bases.values()))}
