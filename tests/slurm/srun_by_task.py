"""Run ``srun ARGS...`` with each task's output in a file of its own, then print the tasks'
stdout (and stderr) one task after another, and exit with srun's status.

srun forwards output in pieces of about 1 KiB and interleaves the pieces of different
tasks, so a line longer than that (a parity program's JSON record) can come out mixed
with another task's. The tasks themselves start exactly as under a plain ``srun``.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
from pathlib import Path


def main(argv: list) -> int:
    with tempfile.TemporaryDirectory(prefix="hpxpy-srun-") as tmp:
        out = Path(tmp)
        proc = subprocess.Popen(["srun", f"--output={out}/%t.out", f"--error={out}/%t.err",
                                 *argv])
        # The harness stops a hung job with SIGTERM: srun then cancels the step's tasks.
        signal.signal(signal.SIGTERM, lambda *_: proc.send_signal(signal.SIGTERM))
        status = proc.wait()

        def task(path: Path) -> int:
            return int(path.name.split(".")[0])

        for path in sorted(out.glob("*.out"), key=task):
            sys.stdout.write(path.read_text(errors="replace"))
        for path in sorted(out.glob("*.err"), key=task):
            sys.stderr.write(path.read_text(errors="replace"))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
