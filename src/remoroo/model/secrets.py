"""What counts as a secret: the names of environment variables whose values are never sent or passed on."""

from __future__ import annotations

import re

SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH|COOKIE|SESSION", re.I)


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name))
