"""``inspector info PATH [--json] [--stats] [--depth N]``: what a checkpoint holds.

Imports nothing heavy (no Qt, numpy or torch) unless ``--stats`` asks for values.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys

from inspector.commands.output import run_with_progress, write_json_document

DESCRIPTION = "Print what a checkpoint holds."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="checkpoint file or folder")
    parser.add_argument("--json", action="store_true", help="print the JSON document instead of a tree")
    parser.add_argument("--stats", action="store_true", help="also compute exact per-tensor statistics")
    parser.add_argument("--depth", type=int, metavar="N", help="print the tree at most N levels deep")


def run(options: argparse.Namespace) -> int:
    collecting = gc.isenabled()
    # Everything read stays alive until the output is printed: a cycle collection would only
    # rescan the whole tree. Statistics (long, streaming) run with the collector on.
    gc.disable()
    try:
        checkpoint = _read(options.path)
        if not options.stats:
            _print_info(checkpoint, None, options)
            return 0
    finally:
        if collecting:
            gc.enable()
    from inspector.core.all_stats import compute_all_stats

    stats = run_with_progress(compute_all_stats(checkpoint), "statistics")
    _print_info(checkpoint, stats, options)
    return 0


def _read(path: str):
    """The checkpoint at ``path``; an error line always names the file by its full path."""
    from inspector.core.errors import CheckpointError
    from inspector.core.loader import load_checkpoint

    full_path = os.path.abspath(path)
    try:
        return run_with_progress(load_checkpoint(full_path), "reading")
    except CheckpointError as error:
        message = str(error)
        if full_path in message:
            raise
        name = os.path.basename(full_path.rstrip(os.sep))
        message = message.removeprefix(f"{name}: ") if name else message
        raise CheckpointError(f"{full_path}: {message}") from None


def _print_info(checkpoint, stats, options: argparse.Namespace) -> None:
    if options.json:
        from inspector.core.jsonview import info_json

        write_json_document(info_json(checkpoint, stats), listed="tensors")
    else:
        _print_text(checkpoint, stats, options.depth)


def _print_text(checkpoint, stats, depth: int | None) -> None:
    from inspector.core.text_tree import render_text
    from inspector.core.tree import build_tree

    root = build_tree(checkpoint)
    write = sys.stdout.write
    for line in render_text(checkpoint, root, max_depth=depth, stats=stats):
        write(line + "\n")
