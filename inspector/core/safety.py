"""Which globals a pickle names that would run code if loaded with torch.load(weights_only=False)."""

from __future__ import annotations

# Whole modules whose every attribute can run code, open files or reach the network.
CODE_RUNNING_MODULES = (
    "os", "posix", "nt", "subprocess", "runpy", "pydoc", "ctypes", "importlib", "pickle",
    "cPickle", "_pickle", "marshal", "types", "sys", "shutil", "socket", "webbrowser", "code",
    "codeop", "torch.hub", "multiprocessing", "asyncio", "pty", "signal", "threading",
    "_posixsubprocess", "urllib", "http", "ftplib", "smtplib", "tempfile", "glob",
    "io", "_io", "commands", "popen2", "platform", "timeit", "trace", "pdb", "bdb", "profile",
    "cProfile", "functools", "torch._dynamo", "torch._C", "numpy.testing", "numpy.f2py",
    "numpy.distutils",
)

CODE_RUNNING_GLOBALS = frozenset({
    "builtins.exec", "builtins.eval", "builtins.compile", "builtins.getattr", "builtins.setattr",
    "builtins.delattr", "builtins.__import__", "builtins.open", "builtins.apply", "builtins.input",
    "builtins.execfile", "builtins.file", "builtins.breakpoint", "builtins.globals",
    "builtins.locals", "builtins.vars", "builtins.print", "builtins.exit", "builtins.quit",
    "operator.methodcaller", "operator.attrgetter", "operator.itemgetter", "operator.call",
    "torch.load", "torch.storage._load_from_bytes", "torch.serialization.load", "torch.jit.load",
    "numpy.load", "numpy.fromfile", "numpy.loadtxt", "codecs.open",
})

# Mild: names that need an import of a user module to load (not known to run code).
_KNOWN_DATA_MODULES = ("torch", "collections", "builtins", "copyreg", "_codecs", "codecs",
                       "numpy", "argparse", "pathlib", "datetime", "decimal", "fractions",
                       "enum", "typing", "uuid",
                       "__torch__")  # TorchScript's own classes: compiled from code/, not imported


def is_code_running(name: str) -> bool:
    if name in CODE_RUNNING_GLOBALS:
        return True
    return any(name == module or name.startswith(module + ".") for module in CODE_RUNNING_MODULES)


def code_running(globals: list[str]) -> list[str]:
    """The referenced globals that would run code under torch.load(weights_only=False)."""
    return sorted({name for name in globals if is_code_running(name)})


def foreign_modules(globals: list[str]) -> list[str]:
    """Top-level modules outside torch/stdlib data types that torch.load would import."""
    modules = set()
    for name in globals:
        root = name.split(".", 1)[0]
        if root not in _KNOWN_DATA_MODULES and not is_code_running(name) and not name.startswith("copyreg."):
            modules.add(root)
    return sorted(modules)


def safety_warnings(globals: list[str]) -> list[str]:
    """User-facing warnings about the globals a file references."""
    warnings = []
    dangerous = code_running(globals)
    if dangerous:
        warnings.append("would run code under torch.load(weights_only=False): " + ", ".join(dangerous))
    foreign = foreign_modules(globals)
    if foreign:
        warnings.append("torch.load(weights_only=False) would need to import " + ", ".join(foreign)
                        + " (classes from outside torch; not run here)")
    return warnings
