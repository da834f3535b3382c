"""The one exception type the core raises for unreadable input."""


class CheckpointError(Exception):
    """A file or folder cannot be read as a checkpoint.

    The message is one clear line meant for the user (no traceback is shown).
    """


class Cancelled(Exception):
    """A long job was cancelled by its caller."""
