"""glibc keeps freed blocks for reuse once :func:`needle_router.allocator.keep_freed_memory` ran:
a loop that allocates and frees a large buffer stops faulting in fresh pages."""

from __future__ import annotations

import subprocess
import sys

import pytest

LOOP = """
import ctypes, resource, sys
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
SIZE = int(sys.argv[3]) << 20
if sys.argv[1].startswith("keep"):
    from needle_router.allocator import keep_freed_memory
    assert keep_freed_memory(keep_all=sys.argv[1] == "keep_all") and keep_freed_memory()

import threading

def step():                                 # what XLA's threads do with a step's buffers: malloc, write, free
    block = libc.malloc(SIZE)
    assert block, "malloc failed"
    ctypes.memset(block, 1, SIZE)
    libc.free(block)

def in_a_thread():
    worker = threading.Thread(target=step)
    worker.start()
    worker.join()

run = step if sys.argv[2] == "main" else in_a_thread
run()                                       # the first one faults its pages in either way
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(int(sys.argv[4])):
    run()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults(mode: str, where: str, megabytes: int = 96, times: int = 10) -> int:
    out = subprocess.run([sys.executable, "-c", LOOP, mode, where, str(megabytes), str(times)], capture_output=True,
                         text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
@pytest.mark.parametrize("where", ["main", "thread"])
def test_freed_buffers_are_reused_instead_of_faulted_in_again(where):
    """In a worker thread (where XLA allocates) as in the main thread: a 96 MB block is more
    than a thread arena's heap holds, so by default it is fresh mmap'd pages every time."""
    default, kept = page_faults("default", where), page_faults("keep", where)
    assert default > 200_000                 # 10 x 96 MB of fresh 4 KiB pages (~246k faults)
    assert kept < default / 20, (default, kept)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_keep_all_keeps_blocks_over_2_gib():
    """A step's temporaries at long inputs exceed the 2 GiB a trimmed heap keeps: the rest was
    handed back and faulted in again every step, unless every freed block is kept."""
    trimmed, kept = page_faults("keep", "main", 2560, 2), page_faults("keep_all", "main", 2560, 2)
    assert trimmed > 100_000                 # 2 x ~0.5 GB of fresh 4 KiB pages
    assert kept < trimmed / 20, (trimmed, kept)


def test_an_accelerator_platform_leaves_malloc_alone(monkeypatch):
    import needle_router.allocator as allocator

    monkeypatch.setenv("JAX_PLATFORMS", "cuda,cpu")
    monkeypatch.setattr(allocator, "_done", None)
    assert allocator.keep_freed_memory_for_cpu_training() is False
    assert allocator._done is None           # nothing was touched
