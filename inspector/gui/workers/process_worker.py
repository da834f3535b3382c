"""Run one long job in a separate process, so a hostile or broken file can never take the
window down; cancel kills the process at once, while stop lets the job clean up first.

A reader thread waits on the pipe (the GUI thread never blocks), decodes each message, runs
the optional ``postprocess`` on the result (e.g. building the display tree) and hands
everything to the GUI thread through a queued signal.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
from typing import Any, Callable

from PySide6.QtCore import QObject, QTimer, Signal

from inspector.core.jobs import check_plain
from inspector.gui.workers.child_jobs import STOP_MESSAGE, child_main
from inspector.gui.workers.transfer import decode

_JOIN_TIMEOUT_S = 5.0
_STOP_GRACE_MS = 10_000


class ProcessWorker(QObject):
    """``start()`` once; then exactly one of succeeded / failed / cancelled is emitted.
    ``partialArrived`` carries the items of a job's ``Partial`` reports, in order, before that."""

    progressed = Signal(int, int, str)
    partialArrived = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    _messageArrived = Signal(object)

    def __init__(self, job_name: str, arguments: dict[str, object],
                 postprocess: Callable[[Any], Any] | None = None, parent: QObject | None = None):
        """Runs the job registered as ``job_name`` in ``core.jobs`` with ``arguments`` (plain data)."""
        super().__init__(parent)
        check_plain(arguments)
        self._job_name = job_name
        self._arguments = dict(arguments)
        self._postprocess = postprocess
        self._process: multiprocessing.Process | None = None
        self._reader: threading.Thread | None = None
        self._settled = False  # an outcome was emitted; later messages are ignored
        self._connection = None  # the window's end of the pipe (the reader thread receives on it)
        self._stopping = False  # stop() was asked: the job ends at its next yield
        self._messageArrived.connect(self._on_reader_message)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def is_running(self) -> bool:
        return self._reader is not None and self._reader.is_alive()

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")
        receiver, sender = context.Pipe(duplex=True)  # the window writes only to ask for a stop
        self._connection = receiver
        self._process = context.Process(target=child_main, args=(sender, self._job_name, self._arguments),
                                        name=f"inspector-{self._job_name}", daemon=True)
        self._process.start()
        sender.close()  # only the child holds its end: the child's exit means end of file
        self._reader = threading.Thread(target=self._read_messages, args=(receiver,),
                                        name=f"inspector-{self._job_name}-reader", daemon=True)
        self._reader.start()

    def cancel(self) -> None:
        """Stop the job now; emits ``cancelled`` unless an outcome was already emitted."""
        if self._process is not None and self._process.is_alive():
            self._process.kill()
        self.wait()
        if not self._settled:
            self._settled = True
            self.cancelled.emit()

    def stop(self, grace_ms: int = _STOP_GRACE_MS) -> None:
        """Ask the job to end at its next yield, running its cleanup (a writer removes its
        temporary file); ``cancelled`` follows once it has. Killed if still running after
        ``grace_ms``. Returns at once."""
        if self._settled or self._process is None:
            return
        self._stopping = True
        try:
            self._connection.send_bytes(STOP_MESSAGE)
        except (OSError, ValueError):
            pass  # the child has just ended: its outcome is on its way
        QTimer.singleShot(grace_ms, self, self._on_stop_grace_timeout)

    def _on_stop_grace_timeout(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.kill()  # the reader thread then reports the exit, taken as cancelled

    def wait(self, timeout: float = _JOIN_TIMEOUT_S) -> None:
        """Block until the process and the reader thread are gone (they end quickly once killed)."""
        if self._reader is not None:
            self._reader.join(timeout)
        if self._process is not None:
            self._process.join(timeout)

    def _read_messages(self, receiver) -> None:
        try:
            while True:
                message = decode(receiver.recv_bytes())
                if message[0] == "result" and self._postprocess is not None:
                    message = self._run_postprocess(message[1])
                self._messageArrived.emit(message)
        except (EOFError, OSError):
            pass
        except Exception as error:  # a message we cannot decode: report it, stop the child
            self._messageArrived.emit(("error", f"{type(error).__name__}: {error}"))
            self._process.kill()
        finally:
            receiver.close()
        self._process.join(_JOIN_TIMEOUT_S)
        self._messageArrived.emit(("exited", self._process.exitcode))

    def _run_postprocess(self, result: Any) -> tuple:
        try:
            return "result", self._postprocess(result)
        except Exception as error:
            return "error", f"{type(error).__name__}: {error}"

    def _on_reader_message(self, message: tuple) -> None:
        if self._settled:
            return
        kind = message[0]
        if kind == "progress":
            self.progressed.emit(*message[1:])
        elif kind == "partial":
            self.partialArrived.emit(message[1])
        elif kind in ("result", "error", "exited", "cancelled"):
            self._settled = True
            if kind == "result":
                self.succeeded.emit(message[1])
            elif kind == "error":
                self.failed.emit(message[1])
            elif kind == "cancelled" or self._stopping:
                self.cancelled.emit()
            else:
                self.failed.emit(crash_message(message[1]))


def crash_message(exit_code: int | None) -> str:
    text = f"the reader crashed (exit code {exit_code})"
    if exit_code is not None and exit_code < 0:
        try:
            text = f"the reader crashed (exit code {exit_code}, {signal.Signals(-exit_code).name})"
        except ValueError:
            pass
    return text
