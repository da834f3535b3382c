"""``inspector export SRC -o OUT.pt|OUT.safetensors [plan options]``: cut a state dict out of a
checkpoint (sub-dict, renames, include/exclude/freeze globs, dtype) and write it with its
sidecar ``OUT.json``.

Options add to a ``--plan`` file: globs and renames are appended to its lists, ``--subdict``
and ``--dtype`` replace its values. ``--strip-prefix``, ``--add-prefix`` and ``--rename``
are applied in the order given. Exit status: 0 written, 1 not written, 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys

from inspector.commands.output import run_with_progress, warn, write_json_document
from inspector.core.dtypes import CAST_TARGETS

DESCRIPTION = "Write a plain state dict (.pt or .safetensors) cut out of a checkpoint."
USAGE_EXIT = 2


class _AppendRename(argparse.Action):
    """--strip-prefix, --add-prefix and --rename all add a (from, to) rule to one list, in order."""

    def __call__(self, parser, namespace, value, option_string=None) -> None:
        rules = list(getattr(namespace, self.dest) or [])
        if option_string == "--strip-prefix":
            rules.append((value, ""))
        elif option_string == "--add-prefix":
            rules.append(("", value))
        else:
            old, equals, new = value.partition("=")
            if not equals or not (old or new):
                parser.error(f"--rename takes OLD=NEW, not {value!r}")
            rules.append((old, new))
        setattr(namespace, self.dest, rules)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", metavar="SRC", help="checkpoint file or folder to export from")
    parser.add_argument("-o", "--output", metavar="OUT", help="OUT.pt or OUT.safetensors (OUT.json is written beside it)")
    parser.add_argument("--plan", metavar="PLAN.json", help="an export plan saved by the window or --save-plan")
    parser.add_argument("--save-plan", metavar="PLAN.json", help="also save the plan, to apply it to other files")
    parser.add_argument("--subdict", metavar="P", help="the state dict inside the file (dotted path)")
    for name, what in (("include", "keep only the keys a GLOB matches"), ("exclude", "leave out the keys a GLOB matches"),
                       ("freeze", "mark the parameters a GLOB matches as frozen")):
        parser.add_argument(f"--{name}", nargs="+", action="extend", default=[], metavar="GLOB", help=what)
    parser.add_argument("--strip-prefix", dest="rename", action=_AppendRename, metavar="P", help="remove a leading prefix")
    parser.add_argument("--add-prefix", dest="rename", action=_AppendRename, metavar="P", help="prepend a prefix")
    parser.add_argument("--rename", dest="rename", action=_AppendRename, metavar="OLD=NEW",
                        help="replace a leading module path (OLD=NEW)")
    parser.add_argument("--dtype", choices=CAST_TARGETS, help="cast floating-point tensors")
    parser.add_argument("--json", action="store_true", help="print the sidecar document")
    parser.epilog = ("A GLOB matches a dotted key or a leading module path of it: 'layer4' (not 'layer40'), "
                     "'layer4.*', '*.bn*.running_*'. Globs match the keys after the renames.")


def run(options: argparse.Namespace) -> int:
    from inspector.core.errors import CheckpointError
    from inspector.core.writers import output_format

    try:
        plan = _plan(options)
        if options.output:
            output_format(options.output)
        elif not options.save_plan:
            raise CheckpointError("nothing to do: give -o OUT.pt|OUT.safetensors (or --save-plan)")
    except CheckpointError as error:
        warn(f"error: {error}")
        return USAGE_EXIT
    inputs = _input_files(options)
    if options.save_plan:
        plan.save(options.save_plan, (*inputs, *_outputs(options)))
    if not options.output:
        return 0
    from inspector.core.export_job import export_checkpoint
    from inspector.core.writers.destination import check_destination

    for output in _outputs(options):
        check_destination(output, inputs)
    result = run_with_progress(export_checkpoint(options.source, options.output, plan), "exporting")
    for field, pattern in result.unmatched:
        warn(f"warning: --{field} {pattern!r} matched no key")
    if options.json:
        write_json_document(result.document, listed="dropped", first_key="key")
    else:
        _print_summary(result)
    return 0


def _input_files(options: argparse.Namespace) -> set[str]:
    """What the command reads: never to be overwritten by the plan, the output or its sidecar."""
    from inspector.core.writers.destination import input_files

    return input_files(options.source) | (input_files(options.plan) if options.plan else set())


def _outputs(options: argparse.Namespace) -> list[str]:
    from inspector.core.export_job import sidecar_path

    return [options.output, sidecar_path(options.output)] if options.output else []


def _plan(options: argparse.Namespace):
    from inspector.core.plan import ExportPlan

    plan = ExportPlan.load(options.plan) if options.plan else ExportPlan()
    try:
        return plan.replace(subdict=options.subdict or plan.subdict, dtype=options.dtype or plan.dtype,
                            include=plan.include + tuple(options.include),
                            exclude=plan.exclude + tuple(options.exclude),
                            freeze=plan.freeze + tuple(options.freeze),
                            rename=plan.rename + tuple(options.rename or ()))
    except ValueError as error:
        from inspector.core.errors import CheckpointError

        raise CheckpointError(str(error)) from None


def _print_summary(result) -> None:
    from inspector.core.units import human_size

    document = result.document
    write = sys.stdout.write
    write(f"wrote {result.destination} ({human_size(result.size)}): {len(document['keys'])} tensors, "
          f"{len(document['frozen'])} frozen, {len(document['trainable'])} trainable, "
          f"{len(document['dropped'])} dropped\n")
    write(f"sidecar: {result.sidecar}\n")
    if result.rules:
        write(f"rules: {', '.join(result.rules)}\n")
    for entry in document["dropped"]:
        write(f"dropped {entry['key']}: {entry['reason']}\n")
