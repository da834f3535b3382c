"""Progress reports yielded by long jobs, and the helper that drives such a job."""

from __future__ import annotations

from collections.abc import Callable, Generator

from inspector.core.value_object import ValueObject


class Progress(ValueObject):
    """One report: ``done`` of ``total`` (0 when unknown). Immutable, equal by value."""

    __slots__ = ("done", "total", "message")

    def __init__(self, done: int, total: int, message: str = "") -> None:
        setter = object.__setattr__
        setter(self, "done", done)
        setter(self, "total", total)  # 0 when unknown
        setter(self, "message", message)

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0

    def _fields(self) -> tuple:
        return (self.done, self.total, self.message)

    def __reduce__(self):
        return Progress, (self.done, self.total, self.message)

    def __repr__(self) -> str:
        return f"Progress(done={self.done!r}, total={self.total!r}, message={self.message!r})"


class Partial(Progress):
    """A progress report that also carries results known before the job ends (a batch of diff
    rows): drivers that only show progress treat it as any ``Progress``; the window's worker
    process forwards ``items`` (plain data) as they come."""

    __slots__ = ("items",)

    def __init__(self, done: int, total: int, message: str = "", items: object = None) -> None:
        super().__init__(done, total, message)
        object.__setattr__(self, "items", items)

    def _fields(self) -> tuple:
        return (self.done, self.total, self.message, self.items)

    def __reduce__(self):
        return Partial, self._fields()

    def __repr__(self) -> str:
        return f"Partial(done={self.done!r}, total={self.total!r}, message={self.message!r}, items={self.items!r})"


TYPE_CHECKING = False  # type checkers take this branch; at run time typing (~3 ms to import) is not needed
if TYPE_CHECKING:
    from typing import TypeVar

    T = TypeVar("T")
    # A long job is a generator that yields Progress and returns its result.
    Job = Generator[Progress, None, T]
else:
    Job = Generator


def sub_job(job: Job[T], start: float, end: float, message: str | None = None,
            scale: int = 1000) -> Job[T]:
    """Run ``job`` as one part of a bigger one: its progress fraction is mapped onto
    ``[start, end]`` of the whole (fractions of 1), reported in units of ``1/scale``.
    ``message`` replaces the job's own text when given. Returns the job's result."""
    try:
        while True:
            try:
                report = next(job)
            except StopIteration as finished:
                return finished.value
            fraction = start + (end - start) * min(max(report.fraction, 0.0), 1.0)
            yield Progress(int(fraction * scale), scale, report.message if message is None else message)
    finally:
        job.close()


def run_job(job: Job[T], on_progress: Callable[[Progress], object] | None = None) -> T:
    """Drive a job to completion and return its result.

    ``on_progress`` may raise ``Cancelled`` to stop the job between yields.
    """
    try:
        while True:
            report = next(job)
            if on_progress is not None:
                on_progress(report)
    except StopIteration as finished:
        return finished.value
    finally:
        job.close()
