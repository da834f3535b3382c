"""The compare view: two checkpoints side by side, key by key."""
