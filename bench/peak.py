"""Run ``drm-gateway`` in a child process and measure the child's own peak memory.

``ru_maxrss`` from ``wait4`` is not that: Linux carries the high-water mark across ``exec``, and a child
started with vfork (what ``subprocess`` uses) inherits the parent's, so a parent that built a big input
file in memory would be measured instead of the gateway. The child reports its own ``VmHWM`` (peak
resident set of the process image after exec) when it exits.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

_CHILD = """
import atexit, os, runpy, sys
def _report():
    with open('/proc/self/status') as fh:
        peak = next(line.split()[1] for line in fh if line.startswith('VmHWM'))
    with open(os.environ['DRM_GATEWAY_PEAK_FILE'], 'w') as out:
        out.write(peak)
atexit.register(_report)
sys.argv = ['drm-gateway', *sys.argv[1:]]
runpy.run_module('gateway', run_name='__main__')
"""


def run_gateway(args: list[str], env: dict[str, str] | None = None) -> tuple[int, float, str]:
    """(exit code, peak RSS in MB, stderr) of ``drm-gateway ARGS`` in a child process."""
    with tempfile.NamedTemporaryFile(suffix=".peak") as peak_file:
        child_env = {**(env or os.environ), "DRM_GATEWAY_PEAK_FILE": peak_file.name}
        done = subprocess.run([sys.executable, "-c", _CHILD, *args], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, env=child_env)
        text = open(peak_file.name).read().strip()
    return done.returncode, (int(text) / 1024 if text else float("nan")), done.stderr.decode(errors="replace")
