"""``frontdesk serve`` has glibc map large buffers on their own for as long as it runs
(supervisor/run.py, keep_large_buffers_mapped): buffers of 256 KiB, as asyncio reads every
database response into and shrinks, are mapped and unmapped whole even after a larger one was
freed, which would otherwise move glibc's threshold, put them on the heap and grow it with holes. Each case runs in a
process of its own, as the setting is the whole process's."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

PROGRAM = """
import ctypes, sys
from frontdesk.engine.supervisor.run import keep_large_buffers_mapped

class Mallinfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                               "fsmblks", "uordblks", "fordblks", "keepcost")]

mallinfo2 = ctypes.CDLL("libc.so.6").mallinfo2
mallinfo2.restype = Mallinfo2
if sys.argv[1] == "kept":
    keep_large_buffers_mapped()
big = bytearray(4 << 20)
del big                                 # a freed mapping: glibc would raise its threshold past 4 MiB here
start = mallinfo2().arena
alive = []
for _ in range(400):
    buffer = bytearray(256 << 10)       # a read's buffer, shrunk to what came and kept a while,
    del buffer[2000:]
    alive += [buffer, bytearray(600)]   # with a small object allocated after it
    if len(alive) > 40:
        del alive[:2]
print(mallinfo2().arena - start)
"""


def heap_growth(mode: str) -> int:
    """How many bytes glibc's heap grew by while read buffers came and went."""
    out = subprocess.run([sys.executable, "-c", PROGRAM, mode], capture_output=True, text=True, check=True, timeout=60)
    return int(out.stdout.strip())


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator")
def test_read_buffers_leave_no_holes_in_the_heap_even_after_a_larger_buffer_was_freed() -> None:
    assert heap_growth("kept") < 64 << 10
    assert heap_growth("default") > 128 << 10     # glibc's moving threshold, which the setting stops
