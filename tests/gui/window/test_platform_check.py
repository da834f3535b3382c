"""Before Qt starts: a missing system library or display is one clear line and exit 1, never
Qt's abort (SIGABRT). The real app runs in a subprocess with the check pointed at a plugin
whose dependency is missing, or with no display."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from inspector.gui.window import platform_check

RUN_APP = """
import sys
from inspector.gui.window import platform_check
if sys.argv[1]:
    from pathlib import Path
    platform_check.xcb_plugin = lambda: Path(sys.argv[1])
from inspector.cli import main
sys.exit(main([]))
"""


def run_app(environ: dict[str, str], plugin: str = "") -> subprocess.CompletedProcess:
    keep = {name: value for name, value in os.environ.items()
            if name not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    return subprocess.run([sys.executable, "-c", RUN_APP, plugin], env={**keep, **environ},
                          capture_output=True, text=True, timeout=60)


def assert_one_line_and_exit_1(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, (result.returncode, result.stderr)  # a signal would be negative
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("inspector: error: "), result.stderr
    return lines[0]


def test_no_display_says_how_to_run_headless():
    line = assert_one_line_and_exit_1(run_app({}))
    assert "no display" in line and "QT_QPA_PLATFORM=offscreen" in line and "--screenshot" in line


def test_a_display_that_does_not_answer_is_named():
    line = assert_one_line_and_exit_1(run_app({"DISPLAY": ":97"}))
    assert "cannot connect to the display ':97'" in line


@pytest.mark.skipif(not platform_check.xcb_plugin().is_file(), reason="this PySide6 has no xcb plugin")
def test_a_missing_xcb_library_is_named_with_its_apt_package(tmp_path):
    real = platform_check.xcb_plugin().read_bytes()
    assert b"libxcb-cursor.so.0\0" in real
    broken = tmp_path / "libqxcb.so"
    broken.write_bytes(real.replace(b"libxcb-cursor.so.0\0", b"libxcb-cursoq.so.0\0"))
    qt_libraries = str(platform_check.xcb_plugin().parents[2] / "lib")
    line = assert_one_line_and_exit_1(run_app({"DISPLAY": ":97", "LD_LIBRARY_PATH": qt_libraries}, str(broken)))
    assert "libxcb-cursoq.so.0" in line and "sudo apt-get install libxcb-cursoq0" in line
    assert "libxcb-cursor0" in line  # the full apt line of what the plugin needs


def test_headless_platforms_are_not_checked():
    assert platform_check.window_problem({"QT_QPA_PLATFORM": "offscreen"}) is None
    assert platform_check.window_problem({"WAYLAND_DISPLAY": "wayland-0"}) is None


def test_apt_package_names_follow_debian():
    assert [platform_check.apt_package(name) for name in
            ("libxcb-cursor.so.0", "libxkbcommon-x11.so.0", "libEGL.so.1", "libxcb-icccm.so.4.0.0")] == \
        ["libxcb-cursor0", "libxkbcommon-x11-0", "libegl1", "libxcb-icccm4"]
