"""Where exports go: bad destinations and the source are refused, and a cancel or a failure
mid-write leaves no partial file (an older file of that name stays as it was)."""

from __future__ import annotations

import hashlib
import os

import pytest
import torch

from inspector.core.errors import CheckpointError
from inspector.core.progress import run_job
from inspector.core.writers import output_format
from inspector.core.writers.destination import check_destination
from tests.core.export_sources import output_tensors

SUFFIXES = [".pt", ".safetensors"]


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("dest_source") / "source.pt")
    generator = torch.Generator().manual_seed(0)
    torch.save({f"layer{index}.weight": torch.randn(64, 64, generator=generator) for index in range(6)}, path)
    return path


def digest(path: str) -> str:
    with open(path, "rb") as file:
        return hashlib.sha256(file.read()).hexdigest()


def leftovers(folder) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.endswith(".part"))


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_missing_folder_is_refused(source, tmp_path, suffix):
    out = str(tmp_path / "nowhere" / f"out{suffix}")
    with pytest.raises(CheckpointError, match="does not exist"):
        run_job(output_format(out).write(output_tensors(source), out))


def test_a_folder_is_not_a_destination(source, tmp_path):
    target = tmp_path / "taken.pt"
    target.mkdir()
    with pytest.raises(CheckpointError, match="is a folder"):
        check_destination(str(target), [source])


def test_unknown_extension_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match=r"\.safetensors"):
        output_format(str(tmp_path / "out.npz"))


@pytest.mark.parametrize("how", ["same path", "symlink", "hard link", "relative path"])
def test_the_source_is_never_overwritten(source, tmp_path, how, monkeypatch):
    before = digest(source)
    if how == "same path":
        target = source
    elif how == "relative path":
        monkeypatch.chdir(os.path.dirname(source))
        target = os.path.join(".", os.path.basename(source))
    else:
        target = str(tmp_path / "alias.pt")
        (os.symlink if how == "symlink" else os.link)(source, target)
    with pytest.raises(CheckpointError, match="refusing to overwrite the source"):
        check_destination(target, [source])
    assert digest(source) == before


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_cancel_mid_write_leaves_no_file(source, tmp_path, suffix):
    out = str(tmp_path / f"out{suffix}")
    job = output_format(out).write(output_tensors(source), out)
    reports = [next(job) for _ in range(4)]
    assert 0 < reports[-1].done < reports[-1].total  # really in the middle
    assert leftovers(tmp_path)  # the temporary file is there while writing
    job.close()
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_cancel_keeps_an_older_output(source, tmp_path, suffix):
    out = tmp_path / f"out{suffix}"
    out.write_bytes(b"an earlier export")
    job = output_format(str(out)).write(output_tensors(source), str(out))
    next(job), next(job)
    job.close()
    assert out.read_bytes() == b"an earlier export"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_failure_mid_write_leaves_no_file(source, tmp_path, suffix):
    damaged = str(tmp_path / "damaged.pt")
    with open(source, "rb") as file:
        raw = file.read()
    with open(damaged, "wb") as file:
        file.write(raw)
    tensors = output_tensors(damaged)  # read while whole, then cut short under the reader's feet
    with open(damaged, "r+b") as file:
        file.truncate(len(raw) // 2)
    out = str(tmp_path / f"out{suffix}")
    with pytest.raises(CheckpointError, match="damaged|ended"):
        run_job(output_format(out).write(tensors, out))
    assert not os.path.exists(out)
    assert leftovers(tmp_path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_read_only_folder_gives_one_clear_line(source, tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    out = str(folder / "out.pt")
    try:
        with pytest.raises(CheckpointError, match="cannot write .*Permission denied"):
            run_job(output_format(out).write(output_tensors(source), out))
    finally:
        folder.chmod(0o700)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_output_gets_the_usual_permissions(source, tmp_path, suffix):
    out = str(tmp_path / f"out{suffix}")
    run_job(output_format(out).write(output_tensors(source), out))
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(out).st_mode & 0o777 == 0o666 & ~umask
