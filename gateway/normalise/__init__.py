"""One record per person x declarant x nature x month (per declaration and cause)."""
