"""The helper folder put first on every measured command's PYTHONPATH.

It holds ``remoroo.emit`` (so a program can report a metric) and a
``sitecustomize`` that registers a stack dump on SIGUSR1 (sent just before a
timeout kill) and then runs the sitecustomize it shadows, if any.
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
