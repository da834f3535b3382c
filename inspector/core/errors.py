"""The one exception type the core raises for unreadable input, and how errors read in one line."""

MAX_ERROR_CHARS = 300


class CheckpointError(Exception):
    """A file or folder cannot be read as a checkpoint.

    The message is one clear line meant for the user (no traceback is shown).
    """


class Cancelled(Exception):
    """A long job was cancelled by its caller."""


def one_line(error: BaseException, limit: int = MAX_ERROR_CHARS) -> str:
    """``error`` as one line for the user: a ``CheckpointError``'s own message, any other
    error prefixed by its type name (it is a defect or a system error, not a file problem)."""
    message = " ".join(str(error).split())
    if len(message) > limit:
        message = message[:limit - 3] + "..."
    if isinstance(error, CheckpointError) and message:
        return message
    name = type(error).__name__
    return f"{name}: {message}" if message else name
