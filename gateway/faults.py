"""Fault injection for the reliability tests: ``DRM_GATEWAY_FAULT=<point>`` makes the process kill
itself (SIGKILL, no clean-up) when it reaches that point. Unset in normal use; a point is a name
such as ``index``, ``publish``, ``finalise`` or ``manifest``."""
from __future__ import annotations

import os
import signal

FAULT_ENV = "DRM_GATEWAY_FAULT"


def checkpoint(point: str) -> None:
    """``<point>`` kills the process; ``<point>:disk-full`` raises the error a full disk would."""
    fault = os.environ.get(FAULT_ENV)
    if fault == point:
        os.kill(os.getpid(), signal.SIGKILL)
    if fault == f"{point}:disk-full":
        raise OSError(28, "No space left on device (injected)")
