"""Format readers: each module exposes ``read(path) -> Job[Checkpoint]``."""
