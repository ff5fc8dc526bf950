"""drm-gateway: a data-quality gateway between DSN/PASRAU flows and benefit liquidation."""

__version__ = "0.1.0"
