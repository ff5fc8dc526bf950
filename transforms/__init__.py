"""Beam PTransforms: they route; the logic lives in gateway/."""
