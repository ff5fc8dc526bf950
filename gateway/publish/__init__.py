"""Writing datasets and manifests: temporary names, then rename; the manifest last."""
