"""Every labelled number a run printed or wrote: what a scouting run of a candidate command shows the brain.

Text (stdout and stderr): ``label: value``, ``label = value``, ``label value``
alone on a line, and JSON objects printed on one line; the last value of each
label wins (the final epoch, not the first). Files the run wrote: JSON and
YAML (every scalar under a dotted key), CSV (each numeric column of the last
row), JUnit XML (tests passed and failed). Values are numbers or booleans.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union

from remoroo.measure.probes import junit_counts

Number = Union[bool, int, float]
NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_PAIR = re.compile(rf"(?<![\w/.:\-])(?P<label>[A-Za-z_][\w.\-/]*(?:[ \t][A-Za-z_][\w.\-/]*){{0,3}}"
                   rf"(?:[ \t]*\([A-Za-z%µ/]+\))?)[ \t]*[:=][ \t]*(?P<value>{NUMBER}|True|False|true|false)(?![\d.])"
                   rf"[ \t]*(?P<unit>%|[A-Za-zµ]{{1,3}}(?![\w]))?(?![ \t]*[:=])")
_ALONE = re.compile(rf"^[ \t]*(?P<label>[A-Za-z_][\w.\-]*)[ \t]+(?P<value>{NUMBER})[ \t]*(?P<unit>%|[A-Za-zµ]{{1,3}})?"
                    rf"[ \t]*$")
_MAX_FILE = 2_000_000


@dataclass(frozen=True)
class Found:
    label: str
    value: Number
    source: Literal["stdout", "stderr", "file"]
    path: str | None = None
    key: str | None = None
    line: str | None = None
    unit: str | None = None


def from_text(text: str, source: Literal["stdout", "stderr"]) -> list[Found]:
    found: dict[str, Found] = {}
    for raw in text.splitlines()[-5000:]:
        line = raw.strip()
        if not line:
            continue
        if line.startswith("{") and line.endswith("}"):
            try:
                data = json.loads(line)
            except ValueError:
                data = None
            if isinstance(data, dict):
                for key, value in _scalars(data):
                    found[key] = Found(key, value, source, line=line[:200])
                continue
        matches = list(_PAIR.finditer(line)) or [m for m in [_ALONE.match(line)] if m]
        for match in matches:
            label = match.group("label").strip()
            label = re.sub(r"^(?:epoch|step|iter(?:ation)?)\s+\d+\s+", "", label)  # 'epoch 3 loss' -> 'loss'
            number = _number(match.group("value"))
            if number is not None and not label.lower().startswith(("http", "line ")):
                found[label] = Found(label, number, source, line=line[:200], unit=match.group("unit"))
    return list(found.values())


def from_file(path: Path, rel: str) -> list[Found]:
    try:
        if not path.is_file() or path.stat().st_size > _MAX_FILE:
            return []
        suffix = path.suffix.lower()
        if suffix == ".xml":
            passed, failed = junit_counts(path)
            return [Found("tests_passed", passed, "file", rel, "tests_passed"),
                    Found("tests_failed", failed, "file", rel, "tests_failed")]
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, LookupError):
        return []
    if suffix == ".json":
        data = _json(text)
    elif suffix in (".yaml", ".yml"):
        data = _yaml(text)
    elif suffix == ".csv":
        return [Found(k, v, "file", rel, k) for k, v in csv_last_row(text).items()]
    else:
        return []
    return [Found(key.rsplit(".", 1)[-1], value, "file", rel, key) for key, value in _scalars(data)]


def read_structured(path: Path, rel: str) -> object:
    """A JSON, YAML or CSV artifact as data (a CSV file: its last row by column); LookupError when it is not."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LookupError(f"{rel} cannot be read: {exc}") from exc
    suffix = path.suffix.lower()
    if suffix == ".csv":
        row = csv_last_row(text)
        if not row:
            raise LookupError(f"{rel} is not a CSV file with a header and a row of numbers")
        return row
    if suffix in (".yaml", ".yml"):
        data = _yaml(text)
        if data is None:
            raise LookupError(f"{rel} is not valid YAML (or PyYAML is not installed)")
        return data
    try:
        return json.loads(text)
    except ValueError as exc:
        raise LookupError(f"{rel} is not valid JSON: {exc}") from exc


def csv_last_row(text: str) -> dict[str, Number]:
    """Each numeric column of a CSV file's last data row, by header."""
    rows = list(csv.reader(io.StringIO(text)))
    if len(rows) < 2:
        return {}
    header, last = rows[0], rows[-1]
    out: dict[str, Number] = {}
    for name, cell in zip(header, last, strict=False):
        value = _number(cell.strip())
        if name.strip() and value is not None:
            out[name.strip()] = value
    return out


def _scalars(data: object, prefix: str = "", depth: int = 0) -> list[tuple[str, Number]]:
    out: list[tuple[str, Number]] = []
    if depth > 6:
        return out
    if isinstance(data, dict):
        for key, value in list(data.items())[:500]:
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, (bool, int, float)):
                out.append((name, value))
            elif isinstance(value, (dict, list)):
                out += _scalars(value, name, depth + 1)
    elif isinstance(data, list) and data and prefix:  # a history list: its last entry
        last = len(data) - 1
        value = data[last]
        if isinstance(value, (bool, int, float)):
            out.append((f"{prefix}.{last}", value))
        elif isinstance(value, dict):
            out += _scalars(value, f"{prefix}.{last}", depth + 1)
    return out


def _number(text: str) -> Number | None:
    if text in ("True", "true"):
        return True
    if text in ("False", "false"):
        return False
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def _json(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _yaml(text: str) -> object:
    try:
        yaml: Any = importlib.import_module("yaml")
    except ImportError:  # PyYAML (dask's dependency) is optional: without it, YAML artifacts are simply not read
        return None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None
