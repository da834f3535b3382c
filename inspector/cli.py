"""Command line: the GUI by default, ``inspector info PATH [--json] [--stats]`` headless.

Exit status: 0 read (even with warnings), 1 not readable (one line on stderr, never a
traceback), 2 bad usage. ``info`` imports nothing heavy (no Qt, numpy or torch) unless
``--stats`` asks for values.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from collections.abc import Sequence

from inspector import __version__

PROGRAM = "inspector"
SUBCOMMANDS = ("info",)
PROGRESS_DELAY_S = 0.5
PLAIN_PROGRESS_EVERY_S = 5.0
TTY_REDRAW_EVERY_S = 0.1


def entry_point() -> None:
    """The ``inspector`` command (console script and ``python -m inspector``).

    A headless command ends with ``os._exit`` once its output is flushed: the interpreter's
    teardown (freeing every object of a large checkpoint's model) is work nobody waits for.
    The window exits normally so Qt can save its settings.
    """
    code = main()
    if sys.argv[1:2] and sys.argv[1] in SUBCOMMANDS:
        os._exit(_flush_output(code))
    sys.exit(code)


def _flush_output(code: int) -> int:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    except OSError as error:
        print(f"{PROGRAM}: error: cannot write the output ({error.strerror})", file=sys.stderr)
        code = code or 1
    try:
        sys.stderr.flush()
    except OSError:
        pass
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] in SUBCOMMANDS:
            options = _info_parser().parse_args(args[1:])
            return _run_info(options)
        options = _gui_parser().parse_args(args)
        return _run_gui(options)
    except KeyboardInterrupt:
        print(f"{PROGRAM}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except Exception as error:  # the user sees one line, whatever went wrong
        print(f"{PROGRAM}: error: {_one_line(error)}", file=sys.stderr)
        return 1


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter with the width found by ``os`` (argparse imports shutil for it,
    which costs more start-up time than the rest of argparse)."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position, width or _terminal_width())


def _terminal_width() -> int:
    try:
        columns = int(os.environ.get("COLUMNS", "0")) or os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError, AttributeError):
        columns = 80
    return max(columns - 2, 40)


def _gui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROGRAM, formatter_class=_HelpFormatter, description="Look inside PyTorch checkpoints without running code from them.",
        epilog="subcommands: 'inspector info PATH [--json] [--stats]' prints what a checkpoint holds.")
    parser.add_argument("files", nargs="*", metavar="FILE", help="checkpoint files or folders to open")
    parser.add_argument("--demo", action="store_true", help="open generated demo checkpoints")
    parser.add_argument("--screenshot", metavar="OUT.png", help="save a screenshot of the window and quit")
    parser.add_argument("--version", action="version", version=f"{PROGRAM} {__version__}")
    return parser


def _info_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"{PROGRAM} info", formatter_class=_HelpFormatter,
                                     description="Print what a checkpoint holds.")
    parser.add_argument("path", metavar="PATH", help="checkpoint file or folder")
    parser.add_argument("--json", action="store_true", help="print the JSON document instead of a tree")
    parser.add_argument("--stats", action="store_true", help="also compute exact per-tensor statistics")
    parser.add_argument("--depth", type=int, metavar="N", help="print the tree at most N levels deep")
    return parser


def _run_gui(options: argparse.Namespace) -> int:
    from inspector.gui.app import run

    return run(list(options.files), demo=options.demo, screenshot=options.screenshot)


def _run_info(options: argparse.Namespace) -> int:
    from inspector.core.loader import load_checkpoint

    collecting = gc.isenabled()
    # Everything read stays alive until the output is printed: a cycle collection would only
    # rescan the whole tree. Statistics (long, streaming) run with the collector on.
    gc.disable()
    try:
        checkpoint = _run_with_progress(load_checkpoint(options.path), "reading")
        if not options.stats:
            _print_info(checkpoint, None, options)
            return 0
    finally:
        if collecting:
            gc.enable()
    from inspector.core.stats import compute_all_stats

    stats = _run_with_progress(compute_all_stats(checkpoint), "statistics")
    _print_info(checkpoint, stats, options)
    return 0


def _print_info(checkpoint, stats, options: argparse.Namespace) -> None:
    if options.json:
        _print_json(checkpoint, stats)
    else:
        _print_text(checkpoint, stats, options.depth)


def _print_json(checkpoint, stats) -> None:
    from inspector.core.jsonview import info_json

    document = info_json(checkpoint, stats)
    write = sys.stdout.write
    fields = list(document.items())
    write("{\n")
    for index, (key, value) in enumerate(fields):
        write(f" {json.dumps(key)}: ")
        if key == "tensors" and value:  # one tensor per line: readable and greppable
            write(_one_entry_per_line(value))
        else:
            write(_compact_json(value))
        write(",\n" if index < len(fields) - 1 else "\n")
    write("}\n")


_ENCODER = json.JSONEncoder(allow_nan=False, separators=(", ", ": "))  # one encoder: dumps(**kw) builds one per call
_ENTRY_BREAK = '}, {"path": '


def _compact_json(value) -> str:
    return _ENCODER.encode(value)


def _one_entry_per_line(entries: list[dict]) -> str:
    """The list encoded in one call, broken into lines between entries.

    Every entry starts with its "path" key, and ``_ENTRY_BREAK`` cannot occur inside an
    encoded string (its quote would be escaped), so the breaks fall exactly between entries.
    """
    encoded = _compact_json(entries)
    return "[\n  " + encoded[1:-1].replace(_ENTRY_BREAK, '},\n  {"path": ') + "\n ]"


def _print_text(checkpoint, stats, depth: int | None) -> None:
    from inspector.core.text_tree import render_text
    from inspector.core.tree import build_tree

    root = build_tree(checkpoint)
    write = sys.stdout.write
    for line in render_text(checkpoint, root, max_depth=depth, stats=stats):
        write(line + "\n")


class _ProgressPrinter:
    """Reports a job's progress on stderr once it runs past PROGRESS_DELAY_S: a bar on a
    TTY, an occasional plain line otherwise. Never touches stdout."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.started = time.monotonic()
        self.interactive = sys.stderr.isatty()
        self.last_report = 0.0
        self.drawn = False

    def __call__(self, progress) -> None:
        now = time.monotonic()
        if now - self.started < PROGRESS_DELAY_S:
            return
        if self.interactive and now - self.last_report >= TTY_REDRAW_EVERY_S:
            sys.stderr.write("\r" + _bar(self.label, progress))
            self.drawn = True
        elif not self.interactive and now - self.last_report >= PLAIN_PROGRESS_EVERY_S:
            sys.stderr.write(f"{PROGRAM}: {self.label}: {_percent(progress)}\n")
        else:
            return
        self.last_report = now
        sys.stderr.flush()

    def finish(self) -> None:
        if self.drawn:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _run_with_progress(job, label: str):
    from inspector.core.progress import run_job

    printer = _ProgressPrinter(label)
    try:
        return run_job(job, printer)
    finally:
        printer.finish()


def _bar(label: str, progress, width: int = 30) -> str:
    filled = int(width * min(max(progress.fraction, 0.0), 1.0))
    return f"{label} [{'#' * filled}{'.' * (width - filled)}] {_percent(progress)} \033[K"


def _percent(progress) -> str:
    return f"{100 * progress.fraction:.0f}%" if progress.total else f"{progress.done}"


def _one_line(error: BaseException) -> str:
    from inspector.core.errors import CheckpointError

    message = " ".join(str(error).split())
    if isinstance(error, CheckpointError) and message:
        return message
    name = type(error).__name__
    return f"{name}: {message}" if message else name


def _silence_stdout() -> None:
    """After a closed pipe, send the rest of stdout nowhere so exit does not complain."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
