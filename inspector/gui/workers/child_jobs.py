"""What runs inside a worker process: one named job from ``core.jobs``, reported through a pipe.

This module must stay free of Qt: a spawned child imports it and nothing of the GUI.
Messages are ``encode``d tuples: ``("progress", done, total, text)`` and, for jobs that yield
``Partial`` reports, ``("partial", items)`` (never dropped, in order), then exactly one of
``("result", value)``, ``("error", one_line_message)``, ``("cancelled",)``. The window writes
to the pipe only to ask for a stop: the job is then closed at its next yield, so its cleanup
runs (a writer removes its temporary file) before the process ends.
"""

from __future__ import annotations

import time
from multiprocessing.connection import Connection

from inspector.core.errors import Cancelled, one_line
from inspector.core.progress import Job, Partial

PROGRESS_INTERVAL_S = 0.05
STOP_MESSAGE = b"stop"


def child_main(connection: Connection, job_name: str, arguments: dict[str, object]) -> None:
    """The worker process's entry point: run the job, send what happened, exit."""
    from inspector.core.jobs import make_job
    from inspector.gui.workers.transfer import encode

    try:
        result = _drive(make_job(job_name, arguments), connection)
        message = ("result", result)
    except Cancelled:
        message = ("cancelled",)
    except Exception as error:  # reported as one line; the window shows it in place
        message = ("error", one_line(error))
    try:
        payload = encode(message)
    except Exception as error:
        payload = encode(("error", f"the result could not be sent to the window ({one_line(error)})"))
    connection.send_bytes(payload)
    connection.close()


def _drive(job: Job, connection: Connection) -> object:
    from inspector.gui.workers.transfer import encode

    last_sent = 0.0
    try:
        while True:
            report = next(job)
            if connection.poll():  # the window asked for a stop
                job.close()  # GeneratorExit at the job's yield: its with-blocks clean up
                raise Cancelled()
            if isinstance(report, Partial) and report.items:
                connection.send_bytes(encode(("partial", report.items)))
            now = time.monotonic()
            if now - last_sent >= PROGRESS_INTERVAL_S:
                connection.send_bytes(encode(("progress", report.done, report.total, report.message)))
                last_sent = now
    except StopIteration as finished:
        return finished.value
