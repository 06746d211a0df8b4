from __future__ import annotations

import json
import subprocess
import sys

from conftest import cli

import remoroo


def test_public_surface() -> None:
    assert sorted(remoroo.__all__) == sorted(["emit", "run", "parse_goal", "RunConfig", "RunResult", "__version__"])
    for name in remoroo.__all__:
        assert getattr(remoroo, name) is not None
    assert remoroo.parse_goal("g", "a == 1").targets[0].metric == "a"


def test_import_loads_no_heavy_dependency() -> None:
    code = (
        "import sys, remoroo\n"
        "heavy = ['dask', 'distributed', 'boto3', 'openai', 'anthropic', 'fastapi', 'uvicorn', 'httpx',"
        " 'pydantic', 'typer', 'rich', 'psutil']\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_emit_outside_a_run_is_a_no_op_and_validates(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("METRICS_EMIT_FILE", raising=False)
    remoroo.emit("x", 1.0)
    target = tmp_path / "m.ndjson"
    monkeypatch.setenv("METRICS_EMIT_FILE", str(target))
    remoroo.emit("acc", 0.5)
    record = json.loads(target.read_text())
    assert (record["name"], record["value"]) == ("acc", 0.5)
    try:
        remoroo.emit("acc", [1])
    except TypeError as exc:
        assert "number, bool or string" in str(exc)
    else:
        raise AssertionError("a list must be refused")


def test_schema_command_exports_every_contract() -> None:
    for name in ("plan", "patch", "report", "case", "brain-request", "brain-response", "scripted-brain"):
        done = cli("schema", name)
        assert done.returncode == 0, done.stderr
        schema = json.loads(done.stdout)
        assert "properties" in schema or "oneOf" in schema or "anyOf" in schema
    bad = cli("schema", "nope")
    assert bad.returncode == 2 and "Unknown contract" in bad.stderr
