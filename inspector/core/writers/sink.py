"""The output end of a writer: bytes from memory, or bytes copied from a source file by the
kernel (``os.copy_file_range``: no trip through this process, so no memory and no copy here).

Filesystems or kernels that cannot copy between the two files fall back to read and write.
"""

from __future__ import annotations

import errno
import os

from inspector.core.errors import CheckpointError

COPY_STEP = 1 << 26  # bytes per copy_file_range call: large, yet a cancel is never far
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP}


class OutputSink:
    """Appends to the file open at ``fd`` from its current position; ``position`` follows."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.position = os.lseek(fd, 0, os.SEEK_CUR)
        self.kernel_copy = hasattr(os, "copy_file_range")

    def write(self, data) -> None:
        view = memoryview(data).cast("B")
        self._write_all(view)
        self.position += len(view)

    def write_at(self, position: int, data: bytes) -> None:
        """Overwrite bytes already written (a header's checksum)."""
        if os.pwrite(self.fd, data, position) != len(data):
            raise OSError(errno.EIO, "short write")

    def copy(self, source_fd: int, offset: int, nbytes: int) -> None:
        """Append ``nbytes`` of the source file from ``offset``."""
        end = offset + nbytes
        while offset < end:
            count = min(COPY_STEP, end - offset)
            copied = self._copy_some(source_fd, offset, count)
            if copied <= 0:
                raise CheckpointError("file ended before the tensor data did (was it truncated?)")
            offset += copied
            self.position += copied

    def _copy_some(self, source_fd: int, offset: int, count: int) -> int:
        if self.kernel_copy:
            try:
                return os.copy_file_range(source_fd, self.fd, count, offset)
            except OSError as error:
                if error.errno not in _NO_KERNEL_COPY:
                    raise
                self.kernel_copy = False
        data = os.pread(source_fd, min(count, 1 << 24), offset)
        self._write_all(memoryview(data))
        return len(data)

    def _write_all(self, view: memoryview) -> None:
        done = 0
        while done < len(view):
            done += os.write(self.fd, view[done:])
