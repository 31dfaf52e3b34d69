"""``python -m rtm_actors.loadtest.worker_process SPEC``: one worker process of a run.

A module of its own (not imported by the package), so ``-m`` runs it without
importing it twice.
"""

from __future__ import annotations

import sys

from rtm_actors.loadtest.worker import worker_main

if __name__ == "__main__":
    sys.exit(worker_main())
