"""The loop of a worker process that stays up between jobs (torch is imported once, so a
check after a remap answers in a fraction of a second instead of seconds). Qt-free: the
spawned child imports this module and nothing of the GUI.

Messages are ``encode``d tuples. From the window: ``("run", id, job name, arguments)``,
``("cancel", id)``, ``("stop",)``. To the window: ``("progress", id, done, total, text)``,
then one of ``("result", id, value)``, ``("error", id, message)``, ``("cancelled", id)``.
A job is cancelled between its yields; a newer "run" cancels the one running ("latest wins").
"""

from __future__ import annotations

import time
from multiprocessing.connection import Connection

from inspector.core.errors import one_line

PROGRESS_INTERVAL_S = 0.05


def serve(connection: Connection) -> None:
    """The worker process's entry point: run jobs as they come until told to stop."""
    from inspector.gui.workers.transfer import decode

    message = None
    try:
        while True:
            message = message or decode(connection.recv_bytes())
            if message[0] == "stop":
                return
            if message[0] != "run":
                message = None
                continue
            _kind, job_id, job_name, arguments = message
            message = _run(connection, job_id, job_name, arguments)
    except (EOFError, OSError):
        return  # the window went away


def _run(connection: Connection, job_id: int, job_name: str, arguments: dict):
    """Run one job; returns a message that interrupted it (a newer "run", "stop"), else None."""
    from inspector.core.jobs import make_job

    try:
        job = make_job(job_name, arguments)
        interruption, result = _drive(job, job_id, connection)
    except Exception as error:  # reported as one line; the window shows it in place
        _send(connection, ("error", job_id, one_line(error)))
        return None
    if interruption is not None:
        _send(connection, ("cancelled", job_id))
        return None if interruption[0] == "cancel" else interruption
    _send(connection, ("result", job_id, result))
    return None


def _drive(job, job_id: int, connection: Connection) -> tuple:
    from inspector.gui.workers.transfer import decode

    last_sent = 0.0
    try:
        while True:
            report = next(job)
            while connection.poll():
                message = decode(connection.recv_bytes())
                if message[0] in ("run", "stop") or message == ("cancel", job_id):
                    return message, None
            now = time.monotonic()
            if now - last_sent >= PROGRESS_INTERVAL_S:
                _send(connection, ("progress", job_id, report.done, report.total, report.message))
                last_sent = now
    except StopIteration as finished:
        return None, finished.value
    finally:
        job.close()


def _send(connection: Connection, message: tuple) -> None:
    from inspector.gui.workers.transfer import encode

    try:
        payload = encode(message)
    except Exception as error:
        payload = encode(("error", message[1], f"the result could not be sent to the window ({one_line(error)})"))
    connection.send_bytes(payload)
