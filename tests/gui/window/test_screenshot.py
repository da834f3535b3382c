"""``--screenshot``: the real app in a subprocess reads the files, draws the first tensor's
plots, saves a PNG and exits 0 (non-zero when a file cannot be read); torch stays out."""

from __future__ import annotations

import os
import subprocess
import sys

from PySide6.QtGui import QImage

from inspector.gui.window.app import SCREENSHOT_SIZE

RUN_APP = """
import sys
from inspector.gui.window.app import run
code = run(sys.argv[2:], screenshot=sys.argv[1])
print("heavy modules:", sorted(name for name in ("torch", "torchvision") if name in sys.modules))
sys.exit(code)
"""


def run_app(tmp_path, *files: str) -> tuple[subprocess.CompletedProcess, str]:
    out = str(tmp_path / "shot.png")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    result = subprocess.run([sys.executable, "-c", RUN_APP, out, *files], env=env, capture_output=True,
                            text=True, timeout=120)
    return result, out


def test_screenshot_of_a_checkpoint(tmp_path, checkpoint_files):
    result, out = run_app(tmp_path, checkpoint_files["general.pt"])
    assert result.returncode == 0, result.stderr
    image = QImage(out)
    assert (image.width(), image.height()) == SCREENSHOT_SIZE
    assert "heavy modules: []" in result.stdout  # viewing never imports torch


def test_screenshot_exits_non_zero_when_a_file_cannot_be_read(tmp_path, bad_files):
    result, out = run_app(tmp_path, bad_files["random.pt"])
    assert result.returncode == 1
    assert os.path.getsize(out) > 0 and "Traceback" not in result.stderr


def test_screenshot_leaves_the_settings_alone(tmp_path, checkpoint_files):
    settings = tmp_path / "config" / "checkpoint-inspector" / "checkpoint-inspector.ini"
    settings.parent.mkdir(parents=True)
    before = "[General]\nrecent_files=/somewhere/else.pt\n"
    settings.write_text(before)
    result, _out = run_app(tmp_path, checkpoint_files["general.pt"])
    assert result.returncode == 0, result.stderr
    assert settings.read_text() == before  # no recent-files entry, no window geometry


def test_screenshot_of_the_empty_window(tmp_path):
    result, out = run_app(tmp_path)
    assert result.returncode == 0, result.stderr
    assert not QImage(out).isNull()
