"""The far end of a locality hpxrun starts on another host (``hpxrun --hosts``).

hpxrun runs ``RSH HOST 'cd DIR && exec [env PYTHONPATH=...] PYTHON -m hpxpy._remote PROGRAM
ARGS'``. This process reads the first line of its stdin, a JSON object with the job secret
and the environment hpxrun carries (so neither appears in any process's argv), starts the
program with them, and then stays beside it as its guardian, listening on stdin, the remote
shell's channel back to hpxrun:

- ``SIG <n>``: send signal n to the program's process group (SIGINT, SIGTERM, SIGHUP,
  SIGKILL, as hpxrun forwards them; ssh does not carry signals),
- ``QUIT``: SIGQUIT to the program only (a stall report),
- end of input (hpxrun ended, or the connection to it broke): SIGTERM to the program's
  group, SIGKILL 2 s later.

It exits with the program's status (128+n when a signal n ended it), which the remote shell
passes back to hpxrun. If this guardian itself is killed, the kernel kills the program
(``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
from typing import List

from hpxpy._bootstrap import ENV_JOB_SECRET
from hpxpy._stall import ENV_OBSERVE_DIR

_KILL_DELAY = 2.0


def _die_with_parent() -> None:
    """preexec_fn: the program gets SIGKILL when this guardian dies."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _listen(proc: subprocess.Popen, control: int) -> None:
    """Follow hpxrun's requests on ``control`` until it ends; then stop the program."""
    with os.fdopen(control, "rb", buffering=0) as stream:
        for raw in iter(stream.readline, b""):
            words = raw.decode(errors="replace").split()
            if words == ["QUIT"]:
                try:
                    os.kill(proc.pid, signal.SIGQUIT)
                except ProcessLookupError:
                    pass
            elif len(words) == 2 and words[0] == "SIG" and words[1].isdigit():
                _signal_group(proc.pid, int(words[1]))
    if proc.poll() is None:
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(_KILL_DELAY)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)


def _read_line(fd: int) -> str:
    """One line from ``fd``, byte by byte: nothing beyond it is consumed."""
    data = bytearray()
    while True:
        byte = os.read(fd, 1)
        if not byte or byte == b"\n":
            return data.decode()
        data += byte


def main(argv: List[str]) -> int:
    if not argv:
        sys.stderr.write("hpxpy._remote: no program given\n")
        return 2
    try:
        start = json.loads(_read_line(0) or "{}")
    except ValueError:
        sys.stderr.write("hpxpy._remote: the first line of stdin is not hpxrun's\n")
        return 2
    env = dict(os.environ)
    env.update(start.get("env", {}))
    if start.get("secret"):
        env[ENV_JOB_SECRET] = start["secret"]
    observe = env.get(ENV_OBSERVE_DIR)
    if observe:  # hpxrun's job directory; exists already where the file system is shared
        os.makedirs(observe, mode=0o700, exist_ok=True)
    control = os.dup(0)
    try:
        proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                start_new_session=True, preexec_fn=_die_with_parent)
    except OSError as err:
        sys.stderr.write(f"hpxpy._remote: cannot run {argv[0]!r}: {err.strerror or err}\n")
        return 127
    threading.Thread(target=_listen, args=(proc, control), daemon=True).start()
    code = proc.wait()
    return 128 - code if code < 0 else code


if __name__ == "__main__":
    for _sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        # hpxrun's requests come on stdin. A handler, not SIG_IGN: the program must not
        # inherit ignored signals.
        signal.signal(_sig, lambda signum, frame: None)
    sys.exit(main(sys.argv[1:]))
