"""An officer's forced value, appended to the register as a version with cause FORCED (its own commit).

Nothing is overwritten: the forced version follows the key's last version; when the source later sends
a correction, the merge computes the declared value again and appends it as a newer version, which
supersedes the forced one."""
from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from gateway.errors import ConfigurationError
from gateway.months import month_of_instant
from gateway.publish.datasets import bucket_of
from gateway.versioning import store
from gateway.records import ResourceVersion, VersionCause


def current_version(root: Path, person_key: str, declarant_id: str, nature: str, month: str) -> ResourceVersion | None:
    committed = [c.run_id for c in store.commits(root)]
    state = store.load_bucket(root, bucket_of(person_key, store.buckets_of(root)), committed)
    mine = [v for v in state.versions if v.key == (person_key, declarant_id, nature, month)]
    return max(mine, key=lambda v: v.version) if mine else None


def append_forced(root: Path, *, person_key: str, declarant_id: str, nature: str, month: str, cents: int,
                  amount: str, officer: str, request_id: str, at: str) -> ResourceVersion:
    last = current_version(root, person_key, declarant_id, nature, month)
    if last is None:
        raise ConfigurationError(f"no resource month @ {declarant_id} {month}: expected a month the register knows")
    run_id = "forced-" + hashlib.sha256(f"{request_id}|{month}|{at}".encode()).hexdigest()[:16]
    version = replace(last, **{amount: cents}, version=last.version + 1, cause=VersionCause.FORCED,
                      transaction_time=at, declaration_id=request_id, declaration_digest=f"forced:{request_id}",
                      file=f"officer:{officer}", first_line=0, run_id=run_id,
                      version_id=hashlib.sha256(f"{'|'.join(last.key)}|{last.version + 1}|forced:{request_id}"
                                                .encode()).hexdigest()[:24])
    store.write_bucket(root, bucket_of(person_key, store.buckets_of(root)), run_id, [], [], [version])
    store.commit(root, store.Commit(run_id, at, 0, 1, max(month, month_of_instant(at)),
                                    bucket_count=store.buckets_of(root)))
    return version
