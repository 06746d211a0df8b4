"""Redaction of what is sent to a brain: secrets, and the absolute paths of the user's machine."""

from __future__ import annotations

import re
from typing import Mapping

from remoroo.model.secrets import SECRET_NAME as _SECRET_NAME

_SECRET_PATTERNS = [
    re.compile(r"sk-(?:ant-)?[A-Za-z0-9_\-]{16,}"),
    re.compile(r"gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"AKIA[0-9A-Z]{16}"),
    re.compile(r"xox[abprs]-[A-Za-z0-9\-]{10,}"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-]{16,}"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
]


class Redactor:
    """Replace secret values and private paths in text (applied to each serialized request)."""

    def __init__(self, env: Mapping[str, str], paths: Mapping[str, str]) -> None:
        self.secrets = sorted({v for k, v in env.items() if _SECRET_NAME.search(k) and len(v) >= 8},
                              key=len, reverse=True)
        self.paths = sorted(((p.rstrip("/"), label) for p, label in paths.items() if p and p != "/"),
                            key=lambda item: len(item[0]), reverse=True)

    def __call__(self, text: str) -> str:
        for value in self.secrets:
            text = text.replace(value, "[REDACTED]")
        for pattern in _SECRET_PATTERNS:
            text = pattern.sub(lambda m: (m.group(1) if m.lastindex else "") + "[REDACTED]", text)
        for path, label in self.paths:
            text = text.replace(path, label)
        return text
