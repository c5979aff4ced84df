"""Kill the processes of a local Ray instance once the run that started it is gone.

Ray ties its GCS server and raylet to the driver, but its agents and busy workers outlive a
SIGKILLed driver by a minute or more (they report the raylet's death to the dead GCS first). The
runner therefore marks a local instance's processes with an environment variable that they inherit
(``MIMO_AMC_RAY_RUN=<token>``) and starts this script, standard library only, with a pipe on its
standard input. When the pipe closes (the driver exited or was killed) the script SIGKILLs every
process whose initial environment carries the token. Linux only (it reads ``/proc``).

Usage (by the runner, in a session of its own so that a Ctrl-C of the run does not reach it):
``python reaper.py TOKEN``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

VARIABLE = "MIMO_AMC_RAY_RUN"


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
    sys.stdin.buffer.read()  # returns when the driver closes the pipe, whether it exits or is killed
    for pid in marked(token):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


if __name__ == "__main__":
    main(sys.argv[1])
