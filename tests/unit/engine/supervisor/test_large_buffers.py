"""``frontdesk serve`` has glibc map large buffers on their own for as long as it runs
(supervisor/run.py, keep_large_buffers_mapped): a buffer of 256 KiB, as asyncio reads every
database response into, is mapped and unmapped whole even after a larger one was freed, which
would otherwise move glibc's threshold and put such buffers on the heap. Each case runs in a
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
before = mallinfo2().hblkhd
buffer = bytearray(256 << 10)
print(mallinfo2().hblkhd - before >= 256 << 10)
"""


def mapped_on_its_own(mode: str) -> bool:
    out = subprocess.run([sys.executable, "-c", PROGRAM, mode], capture_output=True, text=True, check=True, timeout=60)
    return out.stdout.strip() == "True"


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator")
def test_a_large_buffer_gets_its_own_mapping_even_after_a_larger_one_was_freed() -> None:
    assert mapped_on_its_own("kept")
    assert not mapped_on_its_own("default")     # glibc's moving threshold, which the setting stops
