"""Command line: the GUI by default, headless subcommands from the ``SUBCOMMANDS`` table.

Every subcommand prints text by default or its JSON contract with ``--json``, one line on
stderr (never a traceback) when something goes wrong, and a progress bar on stderr for long
work. Exit status: 2 bad usage; otherwise as each command's contract says (DESIGN.md).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from inspector import __version__
from inspector.core.errors import one_line

PROGRAM = "inspector"
# name -> module under inspector.commands; each module says what it does (DESCRIPTION)
SUBCOMMANDS: dict[str, str] = {
    "info": "info",
    "diff": "diff",
    "export": "export",
    "check": "check",
    "series": "series",
}


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
    trouble = 1
    try:
        if args and args[0] in SUBCOMMANDS:
            command = importlib.import_module(f"inspector.commands.{SUBCOMMANDS[args[0]]}")
            trouble = getattr(command, "TROUBLE_EXIT", 1)
            options = _command_parser(args[0], command).parse_args(args[1:])
            return command.run(options)
        options = _gui_parser().parse_args(args)
        return _run_gui(options)
    except KeyboardInterrupt:
        print(f"{PROGRAM}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except Exception as error:  # the user sees one line, whatever went wrong
        print(f"{PROGRAM}: error: {one_line(error)}", file=sys.stderr)
        return trouble


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
    names = "|".join(SUBCOMMANDS)
    parser = argparse.ArgumentParser(
        prog=PROGRAM, formatter_class=_HelpFormatter, description="Look inside PyTorch checkpoints without running code from them.",
        epilog=f"subcommands: 'inspector {{{names}}} --help' for the headless commands.")
    parser.add_argument("files", nargs="*", metavar="FILE", help="checkpoint files or folders to open")
    parser.add_argument("--demo", action="store_true", help="open generated demo checkpoints")
    parser.add_argument("--compare", nargs=2, metavar=("A", "B"), help="open a tab comparing A with B")
    parser.add_argument("--screenshot", metavar="OUT.png", help="save a screenshot of the window and quit")
    parser.add_argument("--version", action="version", version=f"{PROGRAM} {__version__}")
    return parser


def _command_parser(name: str, command) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"{PROGRAM} {name}", formatter_class=_HelpFormatter,
                                     description=command.DESCRIPTION)
    command.add_arguments(parser)
    return parser


def _run_gui(options: argparse.Namespace) -> int:
    from inspector.gui.window.app import run

    return run(list(options.files), demo=options.demo, screenshot=options.screenshot, compare=options.compare)


def _silence_stdout() -> None:
    """After a closed pipe, send the rest of stdout nowhere so exit does not complain."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
