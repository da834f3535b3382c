"""checkpoint-inspector: look inside PyTorch checkpoints without running code from them."""

__version__ = "0.1.0"
