"""Run fuzz cases, each in a forked child with a time and memory limit.

    python -m tests.fuzz.runner CASES.jsonl MARKER

Reads one JSON object per line (``{"path": ..., "detail": ...}``) and prints one per case:
``{"path", "outcome", "message"}`` where outcome is "ok" (read, every value walked), "error"
(the engine's own one-line error), or a defect: "exception" (any other exception escaped),
"timeout", "crash" (killed by a signal or its memory limit), "payload" (code from the file ran).
This process is started fresh and single-threaded, so forking it is safe.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
import traceback

TIME_LIMIT_S = 20
CPU_LIMIT_S = 10
MEMORY_MARGIN = 768 << 20  # address space a case may add to what this process holds
HEAD_VALUES = 64
HISTOGRAMS = 8
CODE_EVENTS = ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "subprocess.Popen", "ctypes.dlopen",
               "os.fork", "os.forkpty", "shutil.rmtree", "os.remove", "os.rename", "socket.connect")


def exercise(path: str) -> None:
    """Everything the CLI and the window do with a file: read, tree, text, JSON, stats, values."""
    from inspector.core.errors import CheckpointError
    from inspector.core.histogram import histogram_job
    from inspector.core.layer_metrics import group_job
    from inspector.core.slices import SliceRequest, heatmap_job, preview_job
    from inspector.core.jsonview import info_json
    from inspector.core.loader import open_checkpoint
    from inspector.core.progress import run_job
    from inspector.core.all_stats import compute_all_stats
    from inspector.core.text_tree import render_text
    from inspector.core.tree import build_tree
    from inspector.core.values import iter_chunks

    checkpoint = open_checkpoint(path)
    root = build_tree(checkpoint)
    stats = run_job(compute_all_stats(checkpoint))
    for lines in (render_text(checkpoint, root), render_text(checkpoint, root, stats=stats)):
        for _ in lines:
            pass
    json.dumps(info_json(checkpoint, stats), allow_nan=False)
    run_job(group_job(root, bins=16))  # the per-layer chart of the whole file
    for index, (_, tensor) in enumerate(checkpoint.iter_tensors()):
        try:
            next(iter_chunks(tensor, HEAD_VALUES), None)
            if index < HISTOGRAMS:
                run_job(histogram_job(tensor, bins=16))
                run_job(heatmap_job(tensor, SliceRequest()))
                run_job(preview_job(tensor, SliceRequest()))
        except CheckpointError:
            pass


def _preload() -> None:
    """Import everything a case may touch before forking: children import nothing."""
    import numpy  # noqa: F401
    import ml_dtypes  # noqa: F401

    from inspector.core import (all_stats, histogram, jsonview, layer_metrics, loader, slices,  # noqa: F401
                                stats, text_tree, tree)
    from inspector.core.formats import (dcp, hf_sharded, plain_pickle, safetensors_file,  # noqa: F401
                                        torch_legacy, torch_zip, torchscript)


def _child(path: str, write_end: int) -> None:
    from inspector.core.errors import CheckpointError

    _limit_resources()
    sys.addaudithook(_refuse_code_events)
    try:
        exercise(path)
        report = ("ok", "")
    except CheckpointError as error:
        report = ("error", str(error)[:500])
    except BaseException as error:  # noqa: BLE001 - a defect, whatever it is
        _watching.clear()  # formatting a traceback parses source lines (a "compile" event)
        report = ("exception", "".join(traceback.format_exception(error))[-4000:])
    os.write(write_end, json.dumps(report).encode())
    os._exit(0)


def _limit_resources() -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_LIMIT_S, CPU_LIMIT_S + 1))
    with open("/proc/self/status") as status:
        virtual = next(int(line.split()[1]) for line in status if line.startswith("VmSize")) << 10
    resource.setrlimit(resource.RLIMIT_AS, (virtual + MEMORY_MARGIN, virtual + MEMORY_MARGIN))


_watching = {True}  # emptied once the case's work is over


def _refuse_code_events(event: str, args: tuple) -> None:
    if _watching and (event.startswith(CODE_EVENTS) or _is_foreign_code(event, args)):
        os.write(2, f"payload event {event}\n".encode())
        os._exit(99)


def _is_foreign_code(event: str, args: tuple) -> bool:
    """exec or compile of anything but a module's own file (imports of our code are fine)."""
    if event == "compile":
        filename = args[1] if len(args) > 1 else None
    elif event == "exec":
        filename = getattr(args[0], "co_filename", None) if args else None
    else:
        return False
    return not isinstance(filename, str) or filename.startswith("<")


def run_case(path: str, marker: str) -> tuple[str, str]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _child(path, write_end)
    os.close(write_end)
    signal.alarm(TIME_LIMIT_S)
    try:
        _, status = os.waitpid(pid, 0)
    except InterruptedError:
        status = None
    finally:
        signal.alarm(0)
    if status is None:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    report = _read_all(read_end)
    if os.path.exists(marker):
        os.remove(marker)
        return "payload", "the payload's marker file appeared"
    if status is None:
        return "timeout", f"still running after {TIME_LIMIT_S} s"
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 99:
        return "payload", "the child ran code (audit hook)"
    if not report:
        return "crash", f"no report, wait status {status}"
    outcome, message = json.loads(report)
    return outcome, message


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


def main(cases_path: str, marker: str) -> None:
    _preload()
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(InterruptedError()))
    with open(cases_path) as cases:
        for line in cases:
            case = json.loads(line)
            outcome, message = run_case(case["path"], marker)
            print(json.dumps({**case, "outcome": outcome, "message": message}), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:3])
