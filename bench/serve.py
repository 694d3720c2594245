"""`rpcserver serve`, as the suite runs it, plus what the server itself does not show: its writer's counters.

    python bench/serve.py [--max-batch N] SERVE-ARGS...

Runs `rpcserver serve SERVE-ARGS` in this process, unchanged, except that on SIGUSR1 it prints one line
`WRITER {"units": ..., "commits": ..., "failed_batches": ...}` (Storage.stats: `commits` < `units` means
calls shared transactions), and `--max-batch 1` gives every unit a transaction of its own: the same
server without group commit, for comparison.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import rpcserver.storage as storage_module
from rpcserver.cli import main as rpcserver_main
from rpcserver.storage._writer import GroupCommitWriter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-batch", type=int, default=None, help="most units per transaction (default: the server's)")
    args, serve_args = parser.parse_known_args()
    writers: list[GroupCommitWriter] = []

    def recorded_writer(run_batch: Any) -> GroupCommitWriter:
        extra = {} if args.max_batch is None else {"max_batch": args.max_batch}
        writer = GroupCommitWriter(run_batch, **extra)
        writers.append(writer)
        return writer

    def print_stats(signum: int, frame: Any) -> None:
        totals = {name: sum(getattr(writer.stats, name) for writer in writers)
                  for name in (f.name for f in dataclasses.fields(storage_module.WriterStats))}
        print("WRITER " + json.dumps(totals), flush=True)

    storage_module.GroupCommitWriter = recorded_writer  # type: ignore[assignment,misc]  # what Storage builds its writer with
    signal.signal(signal.SIGUSR1, print_stats)
    rpcserver_main(["serve", *serve_args])


if __name__ == "__main__":
    main()
