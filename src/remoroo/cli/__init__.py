"""The command line: ``remoroo run|show|apply|index|bench|brain|schema`` (typer), and how a run is shown."""

from __future__ import annotations

from remoroo.cli.app import app, main

__all__ = ["app", "main"]
