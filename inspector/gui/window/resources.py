"""Where the icons and the stylesheet are: inside the package when it is installed (the wheel
ships the top-level resources/ folder as inspector/resources), in a source checkout the
top-level resources/ folder itself."""

from __future__ import annotations

from pathlib import Path

import inspector

PACKAGE = Path(inspector.__file__).resolve().parent


def resources_folder() -> Path:
    installed = PACKAGE / "resources"
    return installed if installed.is_dir() else PACKAGE.parent / "resources"


def resource_path(name: str) -> Path:
    return resources_folder() / name
