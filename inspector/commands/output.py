"""What every headless command shares: progress on stderr, compact JSON on stdout."""

from __future__ import annotations

import json
import sys
import time

from inspector.core.progress import Job, run_job

PROGRAM = "inspector"
PROGRESS_DELAY_S = 0.5
PLAIN_PROGRESS_EVERY_S = 5.0
TTY_REDRAW_EVERY_S = 0.1

_ENCODER = json.JSONEncoder(allow_nan=False, separators=(", ", ": "))  # one encoder: dumps(**kw) builds one per call


def compact_json(value) -> str:
    return _ENCODER.encode(value)


def write_json_document(document: dict, listed: str | None = None, first_key: str = "path") -> None:
    """Print ``document`` with one top-level field per line; the list under ``listed`` gets
    one entry per line (readable and greppable). Its entries must all start with
    ``first_key``: an encoded string cannot contain the break pattern (its quote would be
    escaped), so the breaks fall exactly between entries."""
    write = sys.stdout.write
    fields = list(document.items())
    write("{\n")
    for index, (key, value) in enumerate(fields):
        write(f" {json.dumps(key)}: ")
        if key == listed and value:
            write(_one_entry_per_line(value, first_key))
        else:
            write(compact_json(value))
        write(",\n" if index < len(fields) - 1 else "\n")
    write("}\n")


def _one_entry_per_line(entries: list[dict], first_key: str) -> str:
    encoded = compact_json(entries)
    pattern = "}, {" + json.dumps(first_key) + ": "
    return "[\n  " + encoded[1:-1].replace(pattern, "},\n  {" + json.dumps(first_key) + ": ") + "\n ]"


def warn(message: str) -> None:
    print(f"{PROGRAM}: {message}", file=sys.stderr)


class ProgressPrinter:
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


def run_with_progress(job: Job, label: str):
    """Drive ``job`` to its result, with a progress bar on stderr for long work."""
    printer = ProgressPrinter(label)
    try:
        return run_job(job, printer)
    finally:
        printer.finish()


def _bar(label: str, progress, width: int = 30) -> str:
    filled = int(width * min(max(progress.fraction, 0.0), 1.0))
    return f"{label} [{'#' * filled}{'.' * (width - filled)}] {_percent(progress)} \033[K"


def _percent(progress) -> str:
    return f"{100 * progress.fraction:.0f}%" if progress.total else f"{progress.done}"
