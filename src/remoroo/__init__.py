"""remoroo: improve a repository against measurable goals, honestly.

Importing this package is cheap: it loads no heavy optional dependency, and
``remoroo.emit`` works inside measured programs with nothing else installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from remoroo.emit import emit

__version__ = "0.1.0"
__all__ = ["emit", "run", "parse_goal", "RunConfig", "RunResult", "__version__"]

if TYPE_CHECKING:
    from remoroo.config import RunConfig
    from remoroo.engine import RunResult, run
    from remoroo.spec import parse_goal

_LAZY = {"run": "remoroo.engine", "RunResult": "remoroo.engine", "RunConfig": "remoroo.config",
         "parse_goal": "remoroo.spec"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'remoroo' has no attribute {name!r}")
