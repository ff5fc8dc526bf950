"""Exceptions: only for what a run cannot get past. Bad data becomes a Violation instead.

    GatewayError
    ├── ConfigurationError     unusable options, policy or secret
    ├── UnreadableFlowError    an input path that cannot be opened at all
    ├── RunFailedError         the run could not finish (storage unavailable, disk full…)
    └── DuplicateRuleError     two rules registered under one id

Messages follow "what failed @ where: expected what [rule]" and never echo personal values. An error an
officer may meet in the console also carries an ``ErrorCode``: the console says it in French from the code,
never from the English message.
"""
from __future__ import annotations

import enum


class ErrorCode(str, enum.Enum):
    UNKNOWN_ACTION = "UNKNOWN_ACTION"
    ALREADY_ANSWERED = "ALREADY_ANSWERED"
    SUPERSEDED = "SUPERSEDED"
    JUSTIFICATION_REQUIRED = "JUSTIFICATION_REQUIRED"
    EVIDENCE_REQUIRED = "EVIDENCE_REQUIRED"
    SPREAD_OUT_OF_RANGE = "SPREAD_OUT_OF_RANGE"
    CONCURRENT_UPDATE = "CONCURRENT_UPDATE"
    TRANSITION_NOT_ALLOWED = "TRANSITION_NOT_ALLOWED"
    SELF_DEACTIVATION = "SELF_DEACTIVATION"
    LAST_ADMIN = "LAST_ADMIN"
    SAME_AS_DECLARED = "SAME_AS_DECLARED"
    NOT_A_SUPERVISOR = "NOT_A_SUPERVISOR"
    ROLE_NOT_ALLOWED = "ROLE_NOT_ALLOWED"


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""

    code: ErrorCode | None = None

    def __init__(self, *args: object, code: ErrorCode | None = None) -> None:
        super().__init__(*args)
        if code is not None:
            self.code = code

    def __reduce__(self):  # pickles across Beam workers with its message and code
        return (type(self), self.args, {"code": self.code} if "code" in self.__dict__ else None)


class ConfigurationError(GatewayError):
    """Options, secrets or configuration files that cannot be used."""


class UnreadableFlowError(GatewayError):
    """An input path that does not exist or cannot be read."""


class DuplicateRuleError(GatewayError):
    """A rule id registered twice in one registry."""


class RunFailedError(GatewayError):
    """The run stopped before completing; previous outputs are left as they were."""
