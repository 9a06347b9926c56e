"""A tap's arrival times: the kernel's receive timestamp moved onto perf_counter's
clock, or, without one, the latest the frame can have arrived."""

from __future__ import annotations

import socket
import time

from labtool import linktap


def test_the_kernel_timestamp_is_moved_onto_the_callers_clock() -> None:
    payload = linktap.TIMESPEC.pack(1_700_000_000, 250_000_000)
    got = linktap._arrival([(socket.SOL_SOCKET, linktap.SO_TIMESTAMPNS, payload)], -5.0)
    assert got == 1_700_000_000.25 - 5.0


def test_other_ancillary_data_is_not_taken_for_a_timestamp() -> None:
    before = time.perf_counter()
    got = linktap._arrival([(263, 8, bytes(20))], -1e9)   # SOL_PACKET auxdata
    assert before <= got <= time.perf_counter()
