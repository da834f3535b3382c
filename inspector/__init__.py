"""checkpoint-inspector: look inside PyTorch checkpoints without running code from them."""

import os

__version__ = "0.1.0"

# The app runs its own threads over the values (core/all_stats.py); BLAS threads of its own
# on top of them would spin-wait for cores that are busy. Only applies if numpy is not yet loaded.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
