"""Errors of the corrections context (part of the gateway's error tree: one-line messages, no personal data).

    GatewayError
    └── CorrectionError
        ├── IllegalTransitionError   an action not allowed in the request's state
        ├── NotAnOfficerError        an action by someone without the officer role
        ├── UnknownRequestError      no such request
        ├── InvalidRequestError      a request or value the register cannot back (unknown month, no justification…)
        └── ConcurrentUpdateError    another process changed the request first
"""
from __future__ import annotations

from gateway.errors import ErrorCode, GatewayError


class CorrectionError(GatewayError):
    """A correction-request operation that cannot be done; nothing was changed."""


class IllegalTransitionError(CorrectionError):
    code = ErrorCode.TRANSITION_NOT_ALLOWED


class NotAnOfficerError(CorrectionError):
    pass


class UnknownRequestError(CorrectionError):
    pass


class InvalidRequestError(CorrectionError):
    pass


class ConcurrentUpdateError(CorrectionError):
    code = ErrorCode.CONCURRENT_UPDATE
