"""The package list, which pyproject.toml cannot say: every package under inspector/, plus the
top-level resources/ folder (icons, stylesheet) shipped inside the package as inspector/resources.
Everything else is in pyproject.toml."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["inspector", "inspector.*"]), "inspector.resources"],
    package_dir={"inspector.resources": "resources"},
    package_data={"inspector.resources": ["*.svg", "*.qss"]},
)
