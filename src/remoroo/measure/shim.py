"""The helper folder put first on every measured command's PYTHONPATH.

It holds ``remoroo.emit`` (so a program can report a metric) and a
``sitecustomize`` that registers a stack dump on SIGUSR1 (sent just before a
timeout kill), records through an audit hook (``sys.addaudithook``) every
file of the tree the program opens (``METRICS_INPUTS_FILE``: one ``r PATH``
or ``w PATH`` line per file, code and bytecode left out) and, for each stdout
line a metric's pattern reads, the code that printed it (``METRICS_SITES_FILE``),
and then runs the sitecustomize it shadows, if any.
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


def _watch_stdout():
    """Record which code (file:function) printed each stdout line that a metric's pattern reads."""
    import json, os, re

    out, root = os.environ.get("METRICS_SITES_FILE"), os.environ.get("METRICS_TREE")
    try:
        patterns = [re.compile(p) for p in json.loads(os.environ.get("METRICS_PATTERNS", "[]"))]
    except (ValueError, re.error):
        return
    if not out or not root or not patterns or sys.stdout is None:
        return
    root = os.path.realpath(root) + os.sep

    def site(frame):
        path = os.path.realpath(frame.f_code.co_filename)
        path = path[len(root):] if path.startswith(root) else path
        return path + ":" + frame.f_code.co_name

    class Watched:
        def __init__(self, inner):
            object.__setattr__(self, "_inner", inner)
            object.__setattr__(self, "_pending", ["", set()])

        def write(self, text):
            written = self._inner.write(text)
            try:
                pending = self._pending
                pending[1].add(site(sys._getframe(1)))
                pending[0] += text if isinstance(text, str) else ""
                while "\\n" in pending[0]:
                    line, pending[0] = pending[0].split("\\n", 1)
                    if any(p.search(line) for p in patterns):
                        fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                        try:
                            os.write(fd, (json.dumps({"line": line, "sites": sorted(pending[1])}) + "\\n").encode())
                        finally:
                            os.close(fd)
                    pending[1] = {site(sys._getframe(1))} if pending[0] else set()
            except Exception:
                pass
            return written

        def __getattr__(self, name):
            return getattr(self._inner, name)

        def __setattr__(self, name, value):
            setattr(self._inner, name, value)

    try:
        sys.stdout = Watched(sys.stdout)
    except Exception:
        pass


_watch_stdout()


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
