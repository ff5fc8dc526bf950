"""Frozen-effects gate: published bases become frozen references; a later change is decided by the
GATE rules of the registry (hold, lapse, freeze, officer review or regularise) before any indu."""
