"""``inspector check SRC (--arch NAME [--num-classes N] [--option NAME=VALUE] | --against OTHER)
[--subdict P] [--strip-prefix P] [--no-align] [--json]``: will the checkpoint load into that model?

The answer is torch's own, computed on the meta device (no weights are read, no memory is
used): missing, unexpected and size-mismatched keys, coverage, torch's error text, and the
remaps that would fix it with the ``inspector export`` line that writes the fixed file.
Exit status: 0 it loads with strict=True, 1 it does not, 2 trouble (unreadable file, usage).
"""

from __future__ import annotations

import argparse
import json
import sys

from inspector.commands.output import run_with_progress, warn, write_json_document

DESCRIPTION = "Check whether a checkpoint loads into a torchvision architecture or fits another checkpoint."
TROUBLE_EXIT = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SRC", help="checkpoint file or folder to check")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--arch", metavar="NAME", help="a torchvision architecture (torchvision.models.list_models())")
    target.add_argument("--against", metavar="OTHER", help="another checkpoint: its keys and shapes are the target")
    parser.add_argument("--num-classes", type=int, metavar="N", help="num_classes to build the architecture with")
    parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                        help="another builder option, e.g. aux_logits=false (VALUE read as JSON, else as text)")
    parser.add_argument("--subdict", metavar="P", help="the state dict inside SRC, as a dotted path")
    parser.add_argument("--strip-prefix", metavar="P", help="strip this key prefix from SRC")
    parser.add_argument("--no-align", action="store_true", help="feed the keys exactly as they are")
    parser.add_argument("--json", action="store_true", help="print the JSON document instead of text")


def run(options: argparse.Namespace) -> int:
    from inspector.core.check import check_job
    from inspector.core.check_report import CheckReport

    target = _target(options)
    if target is None:
        return TROUBLE_EXIT
    document = run_with_progress(check_job(options.source, target, subdict=options.subdict,
                                           strip_prefix=options.strip_prefix, no_align=options.no_align), "checking")
    report = CheckReport(document)
    if options.json:
        for warning in report.warnings:
            warn(f"warning: {warning}")
        write_json_document(report.to_json())
    else:
        from inspector.core.check_text import render_check

        write = sys.stdout.write
        for line in render_check(report):
            write(line + "\n")
    return 0 if report.loads_strict else 1


def _target(options: argparse.Namespace) -> dict | None:
    if options.against is not None:
        if options.num_classes is not None or options.option:
            warn("error: --num-classes and --option build an architecture: use them with --arch")
            return None
        return {"path": options.against}
    builder_options = {}
    for option in options.option:
        name, equals, value = option.partition("=")
        if not equals or not name.isidentifier():
            warn(f"error: --option takes NAME=VALUE, not {option!r}")
            return None
        builder_options[name] = _value(value)
    return {"arch": options.arch, "num_classes": options.num_classes, "options": builder_options}


def _value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text
