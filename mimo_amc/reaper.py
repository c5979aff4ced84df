"""Kill the processes of a local Ray instance once the run that started it is gone.

Ray ties its GCS server and raylet to the driver, but its agents and busy workers outlive a
SIGKILLed driver by a minute or more (they report the raylet's death to the dead GCS first). The
runner starts this script (standard library only) with a pipe on its standard input before it starts
the instance, whose processes inherit the run's token ``MIMO_AMC_RAY_RUN=<token>`` in their
environment. While the pipe is open the script records, twice a second, every process whose initial
environment carries the token (the GCS server, the raylet) and every descendant of a recorded one
(the raylet's agents and workers: some overwrite their environment's memory with their process
title, so the token alone does not find them), each with its start time. When the pipe closes (the
driver exited or was killed) it SIGKILLs every recorded process that still runs with the same start
time, and every process still marked. Linux only (it reads ``/proc``).

Usage (by the runner, in a session of its own so that a Ctrl-C of the run does not reach it):
``python reaper.py TOKEN``.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

VARIABLE = "MIMO_AMC_RAY_RUN"
POLL_S = 0.5


def start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (None when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22; the command name may hold spaces or parentheses


def descendants(pid: int) -> set[int]:
    """Every live descendant of ``pid``."""
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            with contextlib.suppress(OSError):
                children = {int(c) for c in (task / "children").read_text().split()} - found
                found |= children
                todo.extend(children)
    return found


def marked(token: str) -> Iterator[int]:
    """PIDs of the processes whose initial environment holds ``VARIABLE=token``."""
    mark = f"{VARIABLE}={token}".encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            environ = (proc / "environ").read_bytes()
        except OSError:  # gone, or another user's
            continue
        if mark in environ.split(b"\0"):
            yield int(proc.name)


def main(token: str) -> None:
    known: dict[int, str] = {}
    while True:
        roots = set(marked(token)) | {p for p, t in known.items() if start_time(p) == t}  # not a reused PID
        for pid in roots | {d for r in roots for d in descendants(r)}:
            started = start_time(pid)
            if started is not None and pid != os.getpid():
                known.setdefault(pid, started)
        ready, _, _ = select.select([sys.stdin.buffer], [], [], POLL_S)
        if ready and not os.read(sys.stdin.fileno(), 4096):  # EOF: the driver closed the pipe or died
            break
    for pid in set(known) | set(marked(token)):
        if pid != os.getpid() and start_time(pid) == known.get(pid, start_time(pid)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


if __name__ == "__main__":
    main(sys.argv[1])
