"""Console users: argon2-hashed passwords, roles, and the audit trail. Stored in the corrections store."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from corrections.errors import CorrectionError, InvalidRequestError
from gateway.errors import ErrorCode
from corrections.model import AuditEntry, Officer, User
from corrections.store import CorrectionStore, now_iso

ROLES = ("officer", "supervisor", "admin")
# What each role may do, in the console and on the command line alike.
PERMISSIONS = {"view": {"officer", "supervisor", "admin"}, "act": {"officer", "supervisor"},
               "decide": {"supervisor"}, "users": {"admin"}}
VERBS = {"view": "view", "act": "act on requests", "decide": "decide", "users": "manage users"}
LABELS_PERMISSION = {"view": "consulter", "act": "traiter les demandes", "decide": "décider ou forcer une valeur",
                     "users": "gérer les utilisateurs"}
RANK = {"officer": 1, "supervisor": 2, "admin": 3}
USERNAME = re.compile(r"[A-Za-z0-9._-]{2,40}")
MAX_FAILURES = 5          # wrong passwords in a row before the account is locked
LOCK_MINUTES = 15
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


def set_active(store: CorrectionStore, username: str, active: bool, *, by: str | None = None) -> None:
    """Activate or deactivate a user. Deactivating ends the user's open sessions at once; nobody deactivates
    themself, and the last active admin stays (else nobody could manage users any more)."""
    from sqlalchemy import func, select
    with store.transaction() as session:
        user = session.get(User, username)
        if user is None:
            raise InvalidRequestError(f"no user @ {username}")
        if not active:
            if username == by:
                raise InvalidRequestError(f"self-deactivation @ {username}: expected another admin to do it",
                                          code=ErrorCode.SELF_DEACTIVATION)
            admins = session.scalar(select(func.count()).select_from(User)
                                    .where(User.role == "admin", User.active.is_(True)))
            if user.role == "admin" and user.active and admins <= 1:
                raise InvalidRequestError(f"last admin @ {username}: expected another active admin first",
                                          code=ErrorCode.LAST_ADMIN)
            user.session_version += 1
        else:
            user.failed_logins, user.locked_until = 0, None
        user.active = active
        officer = session.get(Officer, username)
        if officer is not None:
            officer.active = active


def end_sessions(store: CorrectionStore, username: str) -> None:
    """Every session of the user, in every browser, is ended (logout)."""
    with store.transaction() as session:
        user = session.get(User, username)
        if user is not None:
            user.session_version += 1


def current(store: CorrectionStore, username: str | None, version: int | None) -> User | None:
    """The user of a session, as the store says now: None when the user is unknown, inactive, or the session
    was ended since (logout, deactivation). The role is the store's, not the cookie's."""
    if not username or version is None:
        return None
    with store.transaction() as session:
        user = session.get(User, username)
        if user is None or not user.active or user.session_version != version:
            return None
        return user


def authenticate(store: CorrectionStore, username: str, password: str, *, at: datetime | None = None
                 ) -> tuple[User | None, bool]:
    """(the user, False) when the password is right; (None, True) while the account is locked after
    MAX_FAILURES failures in a row (for LOCK_MINUTES); (None, False) otherwise. Costs one password hash in
    every case (the same whether the user exists or not): call it off the event loop."""
    at = at or datetime.now(timezone.utc)
    with store.transaction() as session:
        user = session.get(User, username)
        if user is None or not user.active:
            _hasher.hash(password)
            return None, False
        if user.locked_until and at.isoformat(timespec="seconds") < user.locked_until:
            _hasher.hash(password)
            return None, True
        try:
            _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            user.failed_logins += 1
            if user.failed_logins >= MAX_FAILURES:
                user.locked_until = (at + timedelta(minutes=LOCK_MINUTES)).isoformat(timespec="seconds")
                user.failed_logins = 0
            return None, False
        user.failed_logins, user.locked_until = 0, None
        return user, False


def users(store: CorrectionStore) -> list[User]:
    from sqlalchemy import select
    with store.transaction() as session:
        return list(session.scalars(select(User).order_by(User.username)))


def act_as(store: CorrectionStore, username: str, password: str, permission: str) -> User:
    """A person acting on the command line: the console's users, passwords, lock-out and roles. Raises with
    what to do when the name, the password or the role does not allow it (and audits the refusal)."""
    user, locked = authenticate(store, username, password)
    if locked:
        audit(store, username, "login", "cli", "locked", channel="cli")
        raise InvalidRequestError(f"account locked @ {username}: expected a new try in {LOCK_MINUTES} minutes, or an "
                                  "admin's 'drm-gateway users activate'")
    if user is None:
        audit(store, username, "login", "cli", "refused", channel="cli")
        raise InvalidRequestError(f"authentication failed @ {username}: expected an active console user and their "
                                  "password (an admin creates one: drm-gateway users add NAME --role officer)")
    if user.role not in PERMISSIONS[permission]:
        audit(store, username, permission, "cli", "refused", f"role {user.role}", channel="cli")
        allowed = " or ".join(sorted(PERMISSIONS[permission]))
        raise InvalidRequestError(f"role @ {username}: {user.role} may not {VERBS[permission]}; expected {allowed}",
                                  code=ErrorCode.ROLE_NOT_ALLOWED)
    return user


def audit(store: CorrectionStore, username: str, action: str, target: str, outcome: str, reason: str = "", *,
          channel: str = "console") -> None:
    try:
        with store.transaction() as session:
            session.add(AuditEntry(at=now_iso(), username=username, action=action, target=target[:80],
                                   outcome=outcome, reason=reason, channel=channel))
    except CorrectionError:
        pass                                          # the action's own error is what the user sees


def audit_trail(store: CorrectionStore, limit: int = 200) -> list[AuditEntry]:
    from sqlalchemy import select
    with store.transaction() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.audit_id.desc()).limit(limit)))


def assign(store: CorrectionStore, decision_ids: list[str], assignee: str, *, by: str) -> None:
    """Assign decisions waiting for an officer to ``assignee`` (an active supervisor: the role that decides them);
    an empty ``assignee`` releases them."""
    from corrections.model import Assignment
    with store.transaction() as session:
        if assignee:
            user = session.get(User, assignee)
            if user is None or not user.active or user.role != "supervisor":
                raise InvalidRequestError(f"assignee @ {assignee}: expected an active supervisor",
                                          code=ErrorCode.NOT_A_SUPERVISOR)
        for decision_id in decision_ids:
            row = session.get(Assignment, decision_id)
            if not assignee:
                if row is not None:
                    session.delete(row)
            elif row is None:
                session.add(Assignment(decision_id=decision_id, assignee=assignee, assigned_by=by, at=now_iso()))
            else:
                row.assignee, row.assigned_by, row.at = assignee, by, now_iso()


def assignments(store: CorrectionStore) -> dict[str, str]:
    """Decision id -> the supervisor it is assigned to."""
    from sqlalchemy import select
    from corrections.model import Assignment
    with store.transaction() as session:
        return {row.decision_id: row.assignee for row in session.scalars(select(Assignment))}


def supervisors(store: CorrectionStore) -> list[str]:
    return [user.username for user in users(store) if user.active and user.role == "supervisor"]
