"""Start the desktop app: the window shows first, then files are read in worker processes."""

from __future__ import annotations

import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from inspector.gui.window import excepthook, theme
from inspector.gui.window.platform_check import window_problem
from inspector.gui.window.settings import APPLICATION, ORGANIZATION

SCREENSHOT_SIZE = (1400, 860)
EXIT_NO_WINDOW = 1


def run(files: list[str], demo: bool = False, screenshot: str | None = None,
        compare: tuple[str, str] | None = None) -> int:
    """Show the window, open ``files`` (the demo checkpoints, a compare tab for the pair
    ``compare``), run until it closes.

    Files are read in spawned processes: a script calling this must do so under
    ``if __name__ == "__main__":`` (as for any multiprocessing program). Returns 1 with one
    line on stderr when the window cannot open here (Qt itself would abort the process).
    """
    app = QApplication.instance()
    if app is None:
        problem = window_problem()
        if problem is not None:
            print(f"inspector: error: {problem}", file=sys.stderr)
            return EXIT_NO_WINDOW
        app = QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("Checkpoint Inspector")
    theme.apply_color_scheme(app)
    app.setWindowIcon(theme.app_icon())

    from inspector.gui.window.main_window import MainWindow

    window = MainWindow(remember=not screenshot)
    excepthook.install(lambda text: window.statusBar().showMessage(text, 10_000))
    controller = None
    if screenshot:
        from inspector.gui.window.screenshot import ScreenshotController

        window.resize(*SCREENSHOT_SIZE)
        controller = ScreenshotController(window, screenshot)
    window.show()
    QTimer.singleShot(0, lambda: _open_initial(window, files, demo, controller, compare))
    try:
        code = app.exec()
    finally:
        window.shutdown()
        excepthook.uninstall()
    return controller.exit_code if controller is not None and controller.exit_code is not None else code


def _open_initial(window, files: list[str], demo: bool, controller, compare=None) -> None:
    if files and controller is not None:
        window.open_paths(files)  # a screenshot run answers no question: a folder opens as its files
    elif files:
        window.open_or_ask(files)
    if compare:
        window.open_compare(*compare)
    if demo:
        window.demo.start()
    if controller is not None:
        controller.start()
