"""One open checkpoint: its load, its tree (model, filter, panel) and the messages shown in its place."""
