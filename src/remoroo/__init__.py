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
    from remoroo.loop.engine import RunResult, run
    from remoroo.model.config import RunConfig
    from remoroo.model.spec import parse_goal

_LAZY = {"run": "remoroo.loop.engine", "RunResult": "remoroo.loop.engine", "RunConfig": "remoroo.model.config",
         "parse_goal": "remoroo.model.spec"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'remoroo' has no attribute {name!r}")
