"""A worker process that stays up between jobs, for the check's quick re-runs.

Like ``ProcessWorker`` (a hostile or broken file can never take the window down; a reader
thread waits on the pipe and hands messages to the GUI thread through a queued signal), but
jobs are numbered and sent one after another to the same process (``warm_child``). Submitting
a job cancels the one running; ``cancel`` kills the process at once (the next job starts a new
one), and so does ``stop``. The process also ends after ``idle_ms`` without work.
"""

from __future__ import annotations

import itertools
import multiprocessing
import threading

from PySide6.QtCore import QObject, QTimer, Signal

from inspector.core.jobs import check_plain
from inspector.gui.check.warm_child import serve
from inspector.gui.workers.process_worker import crash_message
from inspector.gui.workers.transfer import decode, encode

IDLE_MS = 5 * 60 * 1000  # torch holds hundreds of MB: let the process go when nobody checks
_JOIN_TIMEOUT_S = 5.0
_ids = itertools.count(1)


class WarmWorker(QObject):
    """Emits ``progressed``/``succeeded``/``failed``/``cancelled`` with the job's id."""

    progressed = Signal(int, int, int, str)  # job id, done, total, message
    succeeded = Signal(int, object)
    failed = Signal(int, str)
    cancelled = Signal(int)
    _messageArrived = Signal(object)

    def __init__(self, parent: QObject | None = None, idle_ms: int = IDLE_MS):
        super().__init__(parent)
        self._process: multiprocessing.Process | None = None
        self._connection = None
        self._reader: threading.Thread | None = None
        self._running: int | None = None  # the job the process works on
        self._idle = QTimer(self, singleShot=True, interval=idle_ms)
        self._idle.timeout.connect(self.stop)
        self._messageArrived.connect(self._on_reader_message)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def submit(self, job_name: str, arguments: dict[str, object]) -> int:
        """Run the job registered as ``job_name`` (``core.jobs``); returns its id."""
        check_plain(arguments)
        if self._process is None or not self._process.is_alive():
            self._start_process()
        job_id = next(_ids)
        self._idle.stop()
        if self._running is not None:
            self.cancelled.emit(self._running)  # the process drops it when it sees the new one
        self._running = job_id
        self._connection.send_bytes(encode(("run", job_id, job_name, dict(arguments))))
        return job_id

    def cancel(self) -> None:
        """Stop the running job now (the process goes with it)."""
        running = self._running
        self.stop()
        if running is not None:
            self.cancelled.emit(running)

    def stop(self) -> None:
        """End the process and its reader; no job reports anything after this."""
        self._idle.stop()
        self._running = None
        process, reader, self._process, self._reader = self._process, self._reader, None, None
        if process is not None:
            if process.is_alive():
                process.kill()
            process.join(_JOIN_TIMEOUT_S)
        if reader is not None:
            reader.join(_JOIN_TIMEOUT_S)
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _start_process(self) -> None:
        self.stop()
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe(duplex=True)
        self._process = context.Process(target=serve, args=(theirs,), name="inspector-check", daemon=True)
        self._process.start()
        theirs.close()  # the child holds its end: its exit means end of file here
        self._connection = ours
        self._reader = threading.Thread(target=self._read_messages, args=(ours, self._process),
                                        name="inspector-check-reader", daemon=True)
        self._reader.start()

    def _read_messages(self, connection, process) -> None:
        try:
            while True:
                self._messageArrived.emit((process, decode(connection.recv_bytes())))
        except (EOFError, OSError):
            pass
        except Exception as error:  # a message we cannot decode: report it, stop the child
            self._messageArrived.emit((process, ("broken", f"{type(error).__name__}: {error}")))
            process.kill()
        process.join(_JOIN_TIMEOUT_S)
        self._messageArrived.emit((process, ("exited", process.exitcode)))

    def _on_reader_message(self, envelope: tuple) -> None:
        process, message = envelope
        if process is not self._process or self._running is None:
            return  # from a process already stopped, or about a job nobody waits for
        kind = message[0]
        if kind in ("exited", "broken"):
            running, self._running = self._running, None
            self.failed.emit(running, crash_message(message[1]) if kind == "exited" else message[1])
            self.stop()
            return
        if message[1] != self._running:
            return
        if kind == "progress":
            self.progressed.emit(*message[1:])
            return
        self._running = None
        self._idle.start()
        if kind == "result":
            self.succeeded.emit(message[1], message[2])
        elif kind == "error":
            self.failed.emit(message[1], message[2])
