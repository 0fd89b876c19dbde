"""Keep freed memory in the process during CPU training, instead of handing it back to the OS.

XLA on CPU allocates every step's temporaries (2.3 GB for a needle-2m training step) with
``malloc`` from its worker threads. glibc gives each thread its own arena, whose heaps cannot
hold a block over 64 MB, so such blocks are fresh ``mmap`` pages, unmapped on ``free``: every
step faulted in, and the kernel zeroed, the same gigabytes again (a third of a fine-tune's CPU
time was kernel time). One arena, no ``mmap``, and a heap that is neither trimmed nor grown by
less than 2 GB make glibc reuse the freed blocks. On the 2-core machine a needle-2m training
step ran 1.50x faster (``benchmarks/bench_allocator.py``) and ``needle-router finetune`` did
44 steps instead of 32 in 2.5 minutes, at the same peak memory (5.4 vs 5.6 GB).

The fine-tune applies it (:func:`keep_freed_memory_for_cpu_training`); ``needle-router finetune``,
whose process ends with the run, keeps all freed memory (``keep_all``), a server's job 2 GiB. The pretraining loop
does not yet: a round resumed with it ran at its usual pace with 11 GB resident, a footprint
not compared against the default.

Only glibc on Linux is touched; elsewhere nothing changes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD = -1   # from glibc's malloc.h
M_TOP_PAD = -2
M_MMAP_MAX = -4
M_ARENA_MAX = -8
_INT_MAX = 2**31 - 1        # mallopt takes a C int: keep (and grow by) up to 2 GiB of heap
_NEVER = -1                 # as the trim threshold: never trim (mallopt(3))

_done: bool | None = None


def keep_freed_memory(*, keep_all: bool = False) -> bool:
    """Make glibc reuse freed blocks (see the module docstring). True when it took effect;
    idempotent (the first call decides). Call it before JAX starts its threads: a thread that
    already has an arena keeps it. ``keep_all``: never hand freed memory back to the OS, for a
    process that ends with its job; otherwise up to 2 GiB is kept, which at long inputs (8 x
    1,536 encoder tokens) left most of a step's pages to fault in again (4.14 s vs 3.29 s a
    step, ``benchmarks/results/allocator_needle-2m_enc1536.txt``)."""
    global _done
    if _done is not None:
        return _done
    _done = False
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # glibc only: musl's mallopt does nothing
    except (OSError, AttributeError):
        return False
    _done = all(libc.mallopt(option, value) for option, value in (
        (M_ARENA_MAX, 1), (M_MMAP_MAX, 0), (M_TRIM_THRESHOLD, _NEVER if keep_all else _INT_MAX), (M_TOP_PAD, _INT_MAX)))
    return _done


def keep_freed_memory_for_cpu_training(*, keep_all: bool = False) -> bool:
    """:func:`keep_freed_memory` unless ``JAX_PLATFORMS`` names an accelerator first: a GPU's
    buffers are not malloc's. (Asking JAX for its backend would start its threads first.)"""
    platforms = os.environ.get("JAX_PLATFORMS", "").lower()
    if platforms and platforms.split(",")[0] != "cpu":
        return False
    return keep_freed_memory(keep_all=keep_all)
