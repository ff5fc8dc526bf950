"""Exceptions: only for what a run cannot get past. Bad data becomes a Violation instead.

    GatewayError
    ├── ConfigurationError     unusable options, policy or secret
    ├── UnreadableFlowError    an input path that cannot be opened at all
    ├── RunFailedError         the run could not finish (storage unavailable, disk full…)
    └── DuplicateRuleError     two rules registered under one id

Messages follow "what failed @ where: expected what [rule]" and never echo personal values.
"""
from __future__ import annotations


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""

    def __reduce__(self):  # pickles across Beam workers with its message
        return (type(self), self.args)


class ConfigurationError(GatewayError):
    """Options, secrets or configuration files that cannot be used."""


class UnreadableFlowError(GatewayError):
    """An input path that does not exist or cannot be read."""


class DuplicateRuleError(GatewayError):
    """A rule id registered twice in one registry."""


class RunFailedError(GatewayError):
    """The run stopped before completing; previous outputs are left as they were."""
