"""Progress reports yielded by long jobs, and the helper that drives such a job."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Generator, TypeVar

T = TypeVar("T")

# A long job is a generator that yields Progress and returns its result.
Job = Generator["Progress", None, T]


@dataclass(frozen=True)
class Progress:
    done: int
    total: int  # 0 when unknown
    message: str = ""

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


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
