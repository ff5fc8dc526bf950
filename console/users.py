"""Console users: argon2-hashed passwords, roles, and the audit trail. Stored in the corrections store."""
from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from corrections.errors import CorrectionError, InvalidRequestError
from corrections.model import AuditEntry, Officer, User
from corrections.store import CorrectionStore, now_iso

ROLES = ("officer", "supervisor", "admin")
RANK = {"officer": 1, "supervisor": 2, "admin": 3}
USERNAME = re.compile(r"[A-Za-z0-9._-]{2,40}")
_hasher = PasswordHasher()


def add_user(store: CorrectionStore, username: str, password: str, role: str) -> None:
    if not USERNAME.fullmatch(username):
        raise InvalidRequestError(f"user name @ {username}: expected 2-40 letters, digits, . _ -")
    if role not in ROLES:
        raise InvalidRequestError(f"role @ {role}: expected one of {', '.join(ROLES)}")
    if len(password) < 12:
        raise InvalidRequestError("password: expected at least 12 characters")
    with store.transaction() as session:
        if session.get(User, username) is not None:
            raise InvalidRequestError(f"user exists @ {username}: expected a new user name")
        session.add(User(username=username, password_hash=_hasher.hash(password), role=role, active=True,
                         created_at=now_iso()))
        if role in ("officer", "supervisor") and session.get(Officer, username) is None:
            session.add(Officer(officer_id=username, active=True, added_at=now_iso()))


def set_active(store: CorrectionStore, username: str, active: bool) -> None:
    with store.transaction() as session:
        user = session.get(User, username)
        if user is None:
            raise InvalidRequestError(f"no user @ {username}")
        user.active = active
        officer = session.get(Officer, username)
        if officer is not None:
            officer.active = active


def authenticate(store: CorrectionStore, username: str, password: str) -> User | None:
    with store.transaction() as session:
        user = session.get(User, username)
        if user is None or not user.active:
            _hasher.hash(password)                   # same cost whether the user exists or not
            return None
        try:
            _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            return None
        return user


def users(store: CorrectionStore) -> list[User]:
    from sqlalchemy import select
    with store.transaction() as session:
        return list(session.scalars(select(User).order_by(User.username)))


def audit(store: CorrectionStore, username: str, action: str, target: str, outcome: str, reason: str = "") -> None:
    try:
        with store.transaction() as session:
            session.add(AuditEntry(at=now_iso(), username=username, action=action, target=target[:80],
                                   outcome=outcome, reason=reason))
    except CorrectionError:
        pass                                          # the action's own error is what the user sees


def audit_trail(store: CorrectionStore, limit: int = 200) -> list[AuditEntry]:
    from sqlalchemy import select
    with store.transaction() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.audit_id.desc()).limit(limit)))
