"""Correction requests: a bounded context of its own (reads gateway.records only)."""
