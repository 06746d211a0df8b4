"""The sandbox every measured command runs in (bubblewrap), and the cleared environment it gets.

One measurement (every command of the plan, services and jobs) is one sandbox:
- new PID, network (loopback only), IPC, UTS and user namespaces, every capability
  dropped, ``--die-with-parent``: when the measurement ends, times out or the
  engine dies (even by ``kill -9``), every process in it dies;
- the system read-only; the candidate's tree read-write at :data:`TREE` (the same
  path for the baseline, every candidate and final verification); a fresh empty
  HOME, ``/tmp``, ``/var/tmp`` and ``/run``; the engine's helper and runner read-only
  outside the tree; the user's repository, the run folder and the rest of HOME not
  visible at all (toolchains under HOME, such as pyenv or rustup, come back
  read-only at their own paths); protected files of the tree read-only on top of it;
- an environment of PATH, locale, TZ and the toolchain locators only, plus what
  the plan declares and the engine's own variables under neutral names.

With ``--sandbox off`` the same runner runs as a plain child of the engine, in its
own session, with the same cleared environment and a fresh HOME and TMPDIR.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field

from remoroo.model.secrets import is_secret_name

TREE = "/project"
HOME = "/home/user"
HELPERS = "/run/helpers"
RUNNER = "/run/engine/inside.py"
METRICS = "/run/metrics"
EMIT_FILE_ENV = "METRICS_EMIT_FILE"
INSTALL_HINT = "sudo apt-get install bubblewrap (Debian/Ubuntu) or sudo dnf install bubblewrap (Fedora)"

# Variables that say where a toolchain lives; everything else of the user's environment stays out.
PASSED = ("PATH", "LANG", "LANGUAGE", "TZ", "PYENV_ROOT", "PYENV_VERSION", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN",
          "CARGO_HOME", "GOROOT", "GOPATH", "GOMODCACHE", "GOFLAGS", "JAVA_HOME", "NVM_DIR", "NVM_BIN",
          "NODE_PATH", "CONDA_PREFIX", "CONDA_DEFAULT_ENV", "SSL_CERT_FILE", "SSL_CERT_DIR",
          "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
# Toolchains that live under HOME by default: shown read-only, and located for the sandbox's new HOME.
HOME_TOOLCHAINS = {".pyenv": "PYENV_ROOT", ".rustup": "RUSTUP_HOME", ".cargo": "CARGO_HOME", ".nvm": "NVM_DIR"}
NEVER_SHOWN = {".ssh", ".gnupg", ".aws", ".azure", ".config", ".docker", ".kube", ".netrc", ".git-credentials",
               ".password-store", ".mozilla", ".pki", ".local"}
HIDDEN_TOP = {"proc", "dev", "tmp", "run", "home", "root", "mnt", "media", "lost+found"}


class Limits(BaseModel):
    model_config = ConfigDict(frozen=True)
    memory_mb: int = Field(default=8192, ge=16, description="Resident memory of one command's whole process tree.")
    processes: int = Field(default=1024, ge=4, description="Processes of one command's tree at once.")
    file_mb: int = Field(default=4096, ge=1, description="Largest file a measured command may write.")
    log_mb: float = Field(default=10.0, gt=0, description="Kept per output stream; the middle is cut beyond it.")


class Sandbox(BaseModel):
    """How this run contains its measurements."""

    model_config = ConfigDict(frozen=True)
    mode: Literal["bwrap", "off"] = "bwrap"
    hidden: list[str] = Field(default_factory=list, description="Host paths never visible: repo, run folder.")
    limits: Limits = Field(default_factory=Limits)

    @property
    def sealed(self) -> bool:
        return self.mode == "bwrap"


def bwrap() -> str | None:
    return shutil.which("bwrap")


def check() -> str | None:
    """None when a sandbox can be made here; otherwise why not, in words."""
    exe = bwrap()
    if exe is None:
        return f"bubblewrap (bwrap) is not installed: {INSTALL_HINT}"
    probe = [exe, "--unshare-all", "--cap-drop", "ALL", "--die-with-parent", "--ro-bind", "/", "/",
             "--proc", "/proc", "--dev", "/dev", "--", "/bin/sh", "-c", "exit 0"]
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap could not be started: {exc}"
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        return ("bwrap cannot create namespaces on this machine"
                f" ({detail[-1] if detail else f'exit {done.returncode}'}); unprivileged user namespaces may be"
                " disabled (sysctl kernel.unprivileged_userns_clone, or AppArmor's restriction on Ubuntu)")
    return None


@functools.cache
def sandbox_problem() -> str | None:
    """:func:`check`, once per process."""
    return check()


def user_home(env: Mapping[str, str]) -> Path | None:
    home = env.get("HOME")
    return Path(home) if home else None


def clean_env(user_env: Mapping[str, str], home: str, tmp: str) -> dict[str, str]:
    """The environment every measured command starts from."""
    env = {k: v for k, v in user_env.items() if (k in PASSED or k.startswith("LC_")) and not is_secret_name(k)}
    env.setdefault("PATH", os.defpath)
    real_home = user_home(user_env)
    if real_home is not None:
        for name, var in HOME_TOOLCHAINS.items():
            if var not in env and (real_home / name).is_dir():
                env[var] = str(real_home / name)
    env.update({"HOME": home, "TMPDIR": tmp, "USER": "user", "LOGNAME": "user", "PYTHONDONTWRITEBYTECODE": "1"})
    return env


def shown_under_home(user_env: Mapping[str, str]) -> list[Path]:
    """Folders under the hidden HOME that measured commands still need, read-only: toolchains, user site."""
    home = user_home(user_env)
    if home is None:
        return []
    shown: set[Path] = set()
    for name in HOME_TOOLCHAINS:
        if (home / name).is_dir():
            shown.add(home / name)
    for part in ("bin", "lib"):  # ~/.local/bin and the user site-packages, not the rest of ~/.local
        if (home / ".local" / part).is_dir():
            shown.add(home / ".local" / part)
    for entry in user_env.get("PATH", "").split(os.pathsep):
        path = Path(entry)
        try:
            rel = path.relative_to(home)
        except ValueError:
            continue
        if rel.parts and rel.parts[0] not in NEVER_SHOWN and path.is_dir():
            shown.add(home / rel.parts[0])
    return sorted(shown)


def interpreter() -> Path:
    """The Python that runs the runner: the engine's own, outside any virtualenv."""
    return Path(os.path.realpath(sys.executable))


def runner_source() -> Path:
    return Path(__file__).with_name("inside.py")


def argv(*, tree: Path, shim: Path, metrics: Path, sandbox: Sandbox, user_env: Mapping[str, str],
         readonly: list[str], venvs: dict[str, Path]) -> list[str]:
    """The bwrap command line that runs the runner for one measurement of ``tree``."""
    exe = bwrap()
    if exe is None:
        raise FileNotFoundError(f"bwrap is not installed: {INSTALL_HINT}")
    args = [exe, "--unshare-all", "--cap-drop", "ALL", "--die-with-parent", "--new-session",
            "--hostname", "sandbox"]
    args += _system()
    hidden = [Path(p) for p in sandbox.hidden]
    home = user_home(user_env)
    if home is not None:
        hidden.append(home)
    veils: list[Path] = []
    for path in sorted(set(hidden), key=lambda p: len(p.parts)):
        if path.is_dir() and not _under_hidden_top(path) and not any(v in path.parents for v in veils):
            veils.append(path)
    for path in veils:
        args += ["--tmpfs", str(path)]
    # the engine's own interpreter and environment stay usable (read-only) wherever they live, /tmp included
    shown = {interpreter().parent.parent, Path(sys.base_prefix), Path(sys.prefix), *shown_under_home(user_env),
             *venvs.values()}
    for path in sorted(shown, key=lambda p: len(p.parts)):
        if path.is_dir() and str(path) != "/":
            args += ["--ro-bind", str(path), str(path)]
    args += ["--dir", HOME, "--bind", str(tree), TREE]
    for rel, venv in sorted(venvs.items()):
        args += ["--ro-bind", str(venv), f"{TREE}/{rel}"]
    for rel in readonly:
        args += ["--ro-bind", str(tree / rel), f"{TREE}/{rel}"]
    args += ["--ro-bind", str(shim), HELPERS, "--ro-bind", str(runner_source()), RUNNER,
             "--bind", str(metrics), METRICS]
    for path in veils:  # an empty, read-only folder where the hidden one was
        args += ["--remount-ro", str(path)]
    args += ["--chdir", TREE, "--"]
    return args + [str(interpreter()), "-I", "-S", RUNNER]


def _system() -> list[str]:
    """The host's root, read-only, except the folders that hold users' files, sockets and temporaries."""
    args = ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/run", "--tmpfs", "/home"]
    for name in sorted(os.listdir("/")):
        path = f"/{name}"
        if name in HIDDEN_TOP:
            continue
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.exists(path):
            args += ["--ro-bind", path, path]
    if os.path.isdir("/root"):
        args += ["--tmpfs", "/root"]
    if os.path.isdir("/var/tmp"):
        args += ["--tmpfs", "/var/tmp"]
    return args


def _under_hidden_top(path: Path) -> bool:
    """Already out of sight: /tmp, /run, /home, /root, /mnt and /media are empty in the sandbox."""
    parts = path.parts
    return len(parts) > 1 and parts[1] in HIDDEN_TOP


def venvs_of(repo: Path) -> dict[str, Path]:
    """Virtualenvs at the top of the user's repository (``.venv``, ``venv``): they work in the sandbox too."""
    found: dict[str, Path] = {}
    try:
        entries = sorted(repo.iterdir())
    except OSError:
        return found
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink() and (entry / "pyvenv.cfg").is_file():
            found[entry.name] = entry
    return found


def describe() -> list[tuple[str, str]]:
    """What the sandbox can do on this machine, for ``remoroo doctor``: (check, result) pairs."""
    exe = bwrap()
    rows = [("bubblewrap", exe or f"missing: {INSTALL_HINT}")]
    if exe is None:
        return rows
    problem = check()
    rows.append(("namespaces (pid, net, user, ipc, uts)", "ok" if problem is None else problem))
    if problem is not None:
        return rows
    script = ("test -w /usr && echo rw || echo ro; "
              "echo $$; "
              "grep CapEff /proc/self/status | cut -f2")
    done = subprocess.run([exe, "--unshare-all", "--cap-drop", "ALL", "--die-with-parent", *_system(), "--",
                           "/bin/sh", "-c", script], capture_output=True, text=True, timeout=20, check=False)
    lines = done.stdout.split()
    if len(lines) >= 3:
        rows.append(("system folders", "read-only" if lines[0] == "ro" else "WRITABLE"))
        rows.append(("own PID namespace", "yes" if lines[1] in ("1", "2") else f"no (pid {lines[1]})"))
        rows.append(("capabilities", "none" if int(lines[2], 16) == 0 else f"some left ({lines[2]})"))
    rows.append(("network", "loopback only"))
    rows.append(("interpreter for the runner", str(interpreter())))
    return rows
