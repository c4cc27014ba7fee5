"""Ends what a greenlight command started once the command is gone, however it ended.

ansible-runner starts ansible-playbook in a session of its own (its pty), so a greenlight
killed with SIGKILL, by the OOM killer, by `timeout`, or with its process group, or whose SSH
session was lost, would leave its playbook running on: still moving traffic, still holding
the environment's lock. The runner (greenlight/runner.py) starts this process before its
first playbook, in a session of its own too (a kill of greenlight's process group does not
reach it), with the read end of a pipe as its stdin; only greenlight holds the write end.
When greenlight's process ends, the kernel closes that end, the read here returns, and every
process that carries the command's GREENLIGHT_RUN in its environment (ansible-playbook, its
workers, the modules they run) is killed. The next run then recovers the environment as
after any kill (plugins/module_utils/recovery.py), and takes a lock whose holder, the dead command,
is gone, at once.

    python -m greenlight.reaper RUN   (stdin: the pipe)
"""

from __future__ import annotations

import os
import sys

from . import COLLECTION_PATH  # noqa: F401  (importing greenlight puts its collection on the path)
from ansible_collections.greenlight.deploy.plugins.module_utils import deploy_lock  # noqa: I001


def main(argv: list[str]) -> int:
    run = argv[0] if argv else ""
    while True:
        try:
            if not os.read(0, 4096):
                break
        except InterruptedError:
            continue
        except OSError:
            break
    deploy_lock.end_run(run)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
