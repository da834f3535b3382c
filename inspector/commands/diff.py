"""``inspector diff A B [--json] [--rtol R] [--atol T] [--subdict-a P] [--subdict-b P]
[--strip-prefix-a P] [--strip-prefix-b P] [--no-align]``: how two checkpoints differ.

Exit status like diff(1): 0 no tensor differs beyond tolerance, 1 some do, 2 trouble.
"""

from __future__ import annotations

import argparse
import sys

from inspector.commands.output import run_with_progress, write_json_document

DESCRIPTION = "Compare two checkpoints tensor by tensor (keys aligned, values in float64)."
TROUBLE_EXIT = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path_a", metavar="A", help="first checkpoint file or folder (the reference)")
    parser.add_argument("path_b", metavar="B", help="second checkpoint file or folder")
    parser.add_argument("--json", action="store_true", help="print the JSON document instead of a table")
    parser.add_argument("--rtol", type=float, metavar="R",
                        help="relative tolerance (default: torch.testing.assert_close's per dtype)")
    parser.add_argument("--atol", type=float, metavar="T",
                        help="absolute tolerance (default: torch.testing.assert_close's per dtype)")
    parser.add_argument("--subdict-a", metavar="P", help="the state dict inside A, as a dotted path")
    parser.add_argument("--subdict-b", metavar="P", help="the state dict inside B, as a dotted path")
    parser.add_argument("--strip-prefix-a", metavar="P", help="strip this key prefix from A")
    parser.add_argument("--strip-prefix-b", metavar="P", help="strip this key prefix from B")
    parser.add_argument("--no-align", action="store_true", help="compare keys exactly as they are")


def run(options: argparse.Namespace) -> int:
    from inspector.core.diff import DiffOptions, diff_job

    settings = DiffOptions(rtol=options.rtol, atol=options.atol, subdict_a=options.subdict_a,
                           subdict_b=options.subdict_b, no_align=options.no_align,
                           strip_a=options.strip_prefix_a, strip_b=options.strip_prefix_b)
    result = run_with_progress(diff_job(options.path_a, options.path_b, settings), "comparing")
    if options.json:
        write_json_document(result.to_json(), listed="tensors", first_key="key")
    else:
        from inspector.core.diff_text import render_diff

        write = sys.stdout.write
        for line in render_diff(result):
            write(line + "\n")
    return 1 if result.differs else 0
