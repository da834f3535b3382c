"""inspector.core stays free of Qt (and of torch); the reading path stays free of numpy."""

from __future__ import annotations

import json
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import inspector.core

CORE = Path(inspector.core.__file__).parent
QT_IMPORT = re.compile(r"^\s*(from|import)\s+(PySide6|PyQt5|PyQt6|pyqtgraph|superqt|qtpy)\b", re.MULTILINE)
NEVER_IN_CORE = ("PySide6", "pyqtgraph", "superqt", "torch")


def core_modules() -> list[str]:
    return sorted(info.name for info in pkgutil.walk_packages([str(CORE)], "inspector.core."))


def imported_after(code: str, *args: str) -> list[str]:
    """Top-level package names in sys.modules after running ``code`` in a fresh interpreter."""
    probe = code + "\nimport sys, json; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    result = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_core_modules_are_found():
    modules = core_modules()
    assert "inspector.core.loader" in modules and "inspector.core.formats.torch_zip" in modules


def test_no_core_file_has_a_qt_import_line():
    offenders = [str(path) for path in CORE.rglob("*.py") if QT_IMPORT.search(path.read_text())]
    assert offenders == []


def test_importing_all_of_core_imports_no_qt_or_torch():
    imports = "\n".join(f"import {name}" for name in core_modules())
    loaded = imported_after(imports)
    assert [name for name in NEVER_IN_CORE if name in loaded] == []


@pytest.fixture(scope="module")
def saved_file(tmp_path_factory):
    torch = pytest.importorskip("torch")
    path = tmp_path_factory.mktemp("noqt") / "model.pt"
    torch.save({"model": torch.nn.Linear(3, 2).state_dict(), "epoch": 1}, path)
    return str(path)


def test_opening_and_listing_imports_no_numpy(saved_file):
    code = ("import sys\nfrom inspector.core.loader import open_checkpoint\n"
            "from inspector.core.tree import build_tree\nfrom inspector.core.jsonview import info_json\n"
            "checkpoint = open_checkpoint(sys.argv[1])\nassert len(list(checkpoint.iter_tensors())) == 2\n"
            "build_tree(checkpoint); info_json(checkpoint)")
    loaded = imported_after(code, saved_file)
    assert [name for name in ("numpy", *NEVER_IN_CORE) if name in loaded] == []
