"""Qt-free core: format readers, the restricted unpickler, the checkpoint model, stats.

Nothing in this package may import PySide6, pyqtgraph or superqt (tests enforce it).
"""
