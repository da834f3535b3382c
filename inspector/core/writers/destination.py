"""Where an export goes: checked first, written to a temporary file beside it, then renamed.

A failure or a cancel (the job's generator closed mid-write) removes the temporary file, so
no partial output is ever left under the destination's name; the destination is replaced
only once it is complete. A destination that is one of the source's files is refused.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext

from inspector.core.errors import CheckpointError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO

PART_SUFFIX = ".part"


def check_destination(destination: str, source_files: Iterable[str]) -> None:
    """Raise ``CheckpointError`` unless ``destination`` can be written without touching a source."""
    folder = os.path.dirname(os.path.abspath(destination))
    if not os.path.isdir(folder):
        raise CheckpointError(f"cannot write {destination}: folder {folder} does not exist")
    if os.path.isdir(destination):
        raise CheckpointError(f"cannot write {destination}: it is a folder")
    for source in source_files:
        if _same_file(destination, source):
            raise CheckpointError(f"refusing to overwrite the source checkpoint {source} "
                                  f"with the export: choose another output name")


def input_files(path: str) -> set[str]:
    """The files an export reads from ``path``: the file itself, or every file in the folder."""
    if not os.path.isdir(path):
        return {os.path.abspath(path)}
    with os.scandir(path) as entries:
        return {os.path.abspath(entry.path) for entry in entries if entry.is_file()}


def _same_file(first: str, second: str) -> bool:
    if os.path.realpath(first) == os.path.realpath(second):
        return True
    try:
        return os.path.samefile(first, second)
    except OSError:  # one of them does not exist (yet)
        return False


@contextmanager
def replacing(destination: str, source_files: Iterable[str] = ()) -> Iterator[BinaryIO]:
    """A new file in ``destination``'s folder that takes its name once the block ends
    normally; on any exception (``GeneratorExit`` of a cancelled job included) it is removed.
    ``check_destination`` runs first."""
    check_destination(destination, source_files)
    temporary, file = _create_beside(destination)
    try:
        with file:
            yield file
        os.replace(temporary, destination)
    except OSError as error:
        _remove(temporary)
        raise CheckpointError(f"cannot write {destination}: {error.strerror or error}") from error
    except BaseException:
        _remove(temporary)
        raise


def _create_beside(destination: str) -> tuple[str, BinaryIO]:
    folder, name = os.path.split(os.path.abspath(destination))
    while True:
        temporary = os.path.join(folder, f".{name}.{secrets.token_hex(4)}{PART_SUFFIX}")
        try:  # mode 0o666 so the output gets the user's usual permissions (umask applies)
            fd = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        except OSError as error:
            raise CheckpointError(f"cannot write {destination}: {error.strerror}") from error
        return temporary, os.fdopen(fd, "w+b")


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def target_file(destination: str, source_files: Iterable[str], into: BinaryIO | None):
    """The file a writer fills: ``into`` when the caller already holds one (and renames it
    itself, e.g. together with a sidecar), else a new ``replacing(destination)``."""
    return nullcontext(into) if into is not None else replacing(destination, source_files)
