"""``inspector series PATH… [--json]``: how a training run moved, from its checkpoint files.

PATHs are a run's folder, checkpoint files or glob patterns. Exit status: 0 summarised (files
that are not checkpoints of the same model are listed as skipped), 1 nothing to summarise,
2 bad usage.
"""

from __future__ import annotations

import argparse
import sys

from inspector.commands.output import run_with_progress, write_json_document

DESCRIPTION = ("Summarise a series of checkpoints of one run: recorded metrics in epoch/step order and how "
               "every layer moved (norm, relative step, cosine to the previous, distance from the first).")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="a folder of checkpoints, checkpoint files, or glob patterns (quoted)")
    parser.add_argument("--json", action="store_true", help="print the JSON document instead of text")


def run(options: argparse.Namespace) -> int:
    from inspector.core.series import series_job

    result = run_with_progress(series_job(options.paths), "summarising")
    document = result.to_json()
    if options.json:
        write_json_document(document, listed="checkpoints")
    else:
        from inspector.core.series_text import render_series

        write = sys.stdout.write
        for line in render_series(document):
            write(line + "\n")
    return 0
