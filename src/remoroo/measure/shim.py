"""The helper folder put first on every measured command's PYTHONPATH.

It holds ``remoroo.emit`` (so a program can report a metric) and a
``sitecustomize`` that registers a stack dump on SIGUSR1 (sent just before a
timeout kill), records through an audit hook (``sys.addaudithook``) every
file of the tree the program opens (``METRICS_INPUTS_FILE``: one ``r PATH``
or ``w PATH`` line per file, code and bytecode left out), and then runs the
sitecustomize it shadows, if any.
"""

from __future__ import annotations

import shutil
from pathlib import Path

SITECUSTOMIZE = '''"""remoroo: on SIGUSR1 (sent just before a timeout kill), print every thread's stack.

Then run the sitecustomize this one shadows (the project's, the distribution's), if any.
"""
import faulthandler, signal, sys

try:
    faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True)
except (AttributeError, ValueError, RuntimeError, OSError):
    pass


def _observe():
    import os

    out, root = os.environ.get("METRICS_INPUTS_FILE"), os.environ.get("METRICS_TREE")
    if not out or not root:
        return
    root = os.path.realpath(root) + os.sep
    writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    seen = set()
    state = {"busy": False}

    def record(line):
        state["busy"] = True
        try:
            fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode("utf-8", "surrogateescape"))
            finally:
                os.close(fd)
        finally:
            state["busy"] = False

    def hook(event, args):
        if event != "open" or state["busy"]:
            return
        try:
            name, mode, flags = (tuple(args) + (None, None, None))[:3]
            if isinstance(name, bytes):
                name = os.fsdecode(name)
            if not isinstance(name, str):
                return
            full = os.path.realpath(name)
            if not full.startswith(root):
                return
            rel = full[len(root):]
            if rel.endswith((".py", ".pyc", ".pth", ".so")) or "__pycache__" in rel:
                return
            if isinstance(mode, str):
                writing = any(c in mode for c in "wax+")
            else:
                writing = isinstance(flags, int) and bool(flags & writes)
            key = ("w " if writing else "r ") + rel
            if key not in seen:
                seen.add(key)
                record(key + "\\n")
        except Exception:
            pass

    try:
        sys.addaudithook(hook)
    except Exception:
        pass


_observe()


def _chain():
    import importlib.machinery, importlib.util, os

    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules[__name__] = module
    spec.loader.exec_module(module)


_chain()
'''


def write_shim(shim: Path) -> Path:
    (shim / "remoroo").mkdir(parents=True)
    shutil.copy2(Path(__file__).parent.parent / "emit.py", shim / "remoroo" / "emit.py")
    (shim / "remoroo" / "__init__.py").write_text(
        '"""remoroo helper for measured programs."""\nfrom remoroo.emit import emit\n\n__all__ = ["emit"]\n',
        encoding="utf-8",
    )
    (shim / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    return shim
