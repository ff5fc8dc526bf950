"""The versioned policy file: floating-flag thresholds and reference-period bases (later: the gate).

``load_policy(path)`` reads YAML and validates every field; an unusable file is refused with the
field and the reason (ConfigurationError), never half-applied. ``DEFAULT_POLICY`` is the shipped file.
"""
from gateway.policy.model import (PERIOD_MONTHS, BasePolicy, FloatingPolicy, GateBenefit, GatePolicy, Policy, RecoveryPolicy,
                                  default_policy_path, load_policy)

__all__ = ["PERIOD_MONTHS", "BasePolicy", "FloatingPolicy", "GateBenefit", "GatePolicy", "Policy", "RecoveryPolicy",
           "default_policy_path", "load_policy"]
