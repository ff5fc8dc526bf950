"""Allocator and collector settings: resident memory close to what a run really holds, and no
time lost scanning the heap.

Measured on a file of 40,000 declarations (2.9 M lines): peak RSS 634 MB with the defaults, 514 MB with
these settings, for the same work and time. Two causes: glibc gives each of Beam's worker threads its
own malloc arena and keeps freed memory in each; Arrow's default mimalloc pool keeps freed pages for
reuse. Freed memory now goes back to the system, so peaks do not add up stage after stage.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os

import structlog

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8
# Inherited by the worker processes Beam starts (multi-processing mode) before their allocator starts.
# One arena for every thread. A block of 1 MiB or more is mapped on its own (given back when freed); smaller ones come
# from the heap, whose free top is given back once it reaches 8 MiB. Lower thresholds (64 KiB mapped, the top given
# back at once, as before) made every array of a declaration's columns a fresh mapping, its pages zeroed by the
# kernel when first touched: 247,000 page faults for parsing, validating and normalising 1.35 M lines against
# 44,000, and 17 % of that stage's time (3.35 -> 2.79 s, the whole run 8.52 -> 7.75 s, medians of 6 and 4
# alternated runs) for the same peak memory (182 -> 185 MB; the hostile inputs' peaks within 8 MB).
ENVIRONMENT = {"MALLOC_ARENA_MAX": "1", "MALLOC_TRIM_THRESHOLD_": str(8 << 20), "MALLOC_MMAP_THRESHOLD_": str(1 << 20),
               "ARROW_DEFAULT_MEMORY_POOL": "system"}
_log = structlog.get_logger()


# Python's cyclic collector runs a young-generation pass every 700 net allocations of containers, and a
# full pass over the whole heap (Beam's objects included) every 100 of those while long-lived objects
# grow. A run allocates millions of short-lived containers (block instances, records), freed by reference
# counting (a processed declaration's tree is released without cycles): on 1.3 M lines the collector took
# 1.45 s of a 13.3 s run, 1.1 s of it in full passes. With 10,000 it takes 0.19 s and never a full pass;
# peak memory is unchanged (the cycles a run leaves behind are few and still collected).
COLLECT_EVERY = 10_000


def tune_collector() -> None:
    """Collect cycles less often (this process; workers call it from their DoFns' setup())."""
    threshold, *older = gc.get_threshold()
    if threshold < COLLECT_EVERY:
        gc.set_threshold(COLLECT_EVERY, *older)


def tune() -> None:
    """Apply the settings to this process and to the processes it starts; harmless where unsupported."""
    tune_collector()
    for name, value in ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    import pyarrow as pa
    if os.environ["ARROW_DEFAULT_MEMORY_POOL"] == "system":
        pa.set_memory_pool(pa.system_memory_pool())
    library = ctypes.util.find_library("c")
    if not library:
        return
    try:
        libc = ctypes.CDLL(library)
        mallopt = libc.mallopt
    except (OSError, AttributeError):       # not glibc (musl, macOS): nothing to tune
        _log.debug("memory.not_tuned", reason="no mallopt")
        return
    for option, name in ((_M_ARENA_MAX, "MALLOC_ARENA_MAX"), (_M_TRIM_THRESHOLD, "MALLOC_TRIM_THRESHOLD_"),
                         (_M_MMAP_THRESHOLD, "MALLOC_MMAP_THRESHOLD_")):
        mallopt(option, int(os.environ[name]))
