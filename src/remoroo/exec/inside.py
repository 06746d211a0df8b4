"""The measurement runner: runs one measurement's commands and reports what happened.

This file is executed on its own (``python -I -S inside.py``), inside the
sandbox or, with ``--sandbox off``, as a plain child of the engine. It uses the
standard library only and imports as little as it can (its start-up is paid on
every measurement). The engine sends a ``marshal``-encoded spec on stdin and
receives a ``marshal``-encoded result on the file descriptor the spec names.

Every command runs under its own *keeper*: a forked copy of this process that
is a child subreaper (``PR_SET_CHILD_SUBREAPER``), so every process the command
starts, daemons that double-fork and call ``setsid`` included, stays its
descendant. The keeper reaps them all and reports when the *last* one has
exited: that is the command's wall time, and the CPU time of every reaped
process is summed. Timeouts, the memory limit and the process limit kill the
keeper's whole tree (first SIGUSR1 to Python processes on a timeout, so the
engine's helper prints their stacks). Services run under keepers too and are
torn down, whole trees, in reverse order at the end.
"""

import _signal as signal  # the C module: `signal` imports enum, a cost paid on every measurement
import marshal
import os
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
PR_SET_DUMPABLE = 4
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _prctl(option, value):
    """Best effort: Linux only; elsewhere the runner still works, without the subreaper."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


# ---- processes -----------------------------------------------------------------------------------

def _table():
    """{pid: (ppid, comm)} of every process this runner can see (all of them, in a PID namespace)."""
    found = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return found
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open("/proc/" + name + "/stat", "rb") as handle:
                raw = handle.read()
        except OSError:
            continue
        close = raw.rfind(b")")
        fields = raw[close + 2:].split()
        if len(fields) < 2 or fields[0] == b"Z":
            continue
        found[int(name)] = (int(fields[1]), raw[raw.find(b"(") + 1:close].decode("utf-8", "replace"))
    return found


def _children(pid):
    """Children of ``pid`` from /proc/PID/task/*/children; None where the kernel does not offer the file."""
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", "rb") as handle:
                found += [int(c) for c in handle.read().split()]
        except FileNotFoundError:
            return None
        except OSError:
            continue
    return found


def descendants(root, table=None):
    """Pids below ``root`` (not ``root`` itself), parents before children."""
    if table is None:
        out, todo = [], [root]
        while todo:
            kids = _children(todo.pop())
            if kids is None:  # no children files here: read the whole process table
                return descendants(root, _table())
            out += kids
            todo += kids
        return out
    children = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            out.append(child)
            todo.append(child)
    return out


def _rss(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm", "rb") as handle:
                total += int(handle.read().split()[1]) * _PAGE
        except (OSError, ValueError, IndexError):
            continue
    return total


def _signal(pids, sig):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except OSError:
            continue


class Keeper:
    """One command under its subreaper keeper."""

    def __init__(self, cmd, limits):
        self.cmd = cmd
        self.main_code = None  # exit code of the command's own process, once it exited
        self.done = None  # (end, cpu_s) once every process of the tree has exited
        self.peak = 0
        self.count = 0
        self.started = time.monotonic()
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the keeper
            os.close(read)
            _keep(cmd, write, limits)
        os.close(write)
        self.pid, self.pipe, self.buffer = pid, read, b""

    def poll(self, wait_s):
        """Read the keeper's reports for up to ``wait_s`` seconds; True once the whole tree has exited."""
        import select

        if self.done is not None:
            return True
        ready, _, _ = select.select([self.pipe], [], [], max(0.0, wait_s))
        if ready:
            chunk = os.read(self.pipe, 4096)
            if not chunk:  # the keeper is gone without its final report (killed)
                self.done = (time.monotonic(), 0.0)
            self.buffer += chunk
            while b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
                kind, _, rest = line.partition(b" ")
                if kind == b"M":
                    self.main_code = int(rest)
                elif kind == b"D":
                    end, cpu, maxrss = rest.split()
                    self.done = (float(end), float(cpu))
                    self.peak = max(self.peak, int(maxrss))
        if self.done is not None:
            self._reap()
            return True
        return False

    def sample(self):
        """Peak memory and process count of the tree, right now."""
        pids = descendants(self.pid)
        self.count = len(pids)
        self.peak = max(self.peak, _rss(pids))
        return pids

    def kill(self, grace_s, dump):
        """Stop every process of the tree; return how many were still running."""
        pids = descendants(self.pid)
        if not pids:
            return 0
        if dump:
            table = _table()
            _signal([p for p in pids if "python" in table.get(p, (0, ""))[1].lower()], signal.SIGUSR1)
            time.sleep(0.3)
        _signal(descendants(self.pid), signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and descendants(self.pid):
            time.sleep(0.02)
        rounds = 0
        while rounds < 250:  # a tree that keeps forking is killed again until it is empty
            left = descendants(self.pid)
            if not left:
                break
            _signal(left, signal.SIGKILL)
            time.sleep(0.02)
            rounds += 1
        until = time.monotonic() + 5.0
        while not self.poll(max(0.0, until - time.monotonic())) and time.monotonic() < until:
            pass
        return len(pids)

    def _reap(self):
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        if self.pipe is not None:
            os.close(self.pipe)
            self.pipe = None

    @property
    def main_exited(self):
        if self.main_code is None and self.pipe is not None:
            self.poll(0.0)
        return self.main_code is not None


def _keep(cmd, report, limits):
    """In the keeper: start the command, reap every process of its tree, report, exit."""
    try:
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
        os.setsid()
        child = os.fork()
        if child == 0:
            _exec(cmd, limits)
        cpu, maxrss = 0.0, 0
        while True:
            try:
                pid, status, usage = os.wait4(-1, 0)
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            cpu += usage.ru_utime + usage.ru_stime
            maxrss = max(maxrss, usage.ru_maxrss)  # KiB on Linux: the exact peak of each reaped process
            if pid == child:
                os.write(report, b"M %d\n" % os.waitstatus_to_exitcode(status))
        os.write(report, b"D %r %r %d\n" % (time.monotonic(), cpu, maxrss * 1024))
    finally:
        os._exit(0)


def _exec(cmd, limits):
    try:
        import resource

        fsize = limits.get("file_bytes")
        if fsize:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    except (ImportError, ValueError, OSError):
        pass
    try:
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(cmd["out"], 1)
        os.dup2(cmd["err"], 2)
        os.closerange(3, 65536)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        os.chdir(cmd["cwd"])
        os.execve("/bin/sh", ["/bin/sh", "-c", cmd["run"]], cmd["env"])
    except OSError as exc:
        os.write(2, ("could not start {!r} in {}: {}\n".format(cmd["run"], cmd["cwd"], exc)).encode())
    os._exit(127)


# ---- readiness ---------------------------------------------------------------------------------

def _ready(probe, cmd):
    kind = probe.get("kind")
    if kind == "tcp":
        import socket

        try:
            with socket.create_connection(("127.0.0.1", int(probe.get("port") or 0)), timeout=0.2):
                return True
        except (OSError, ValueError):
            return False
    if kind == "http":
        import urllib.error
        import urllib.request

        try:
            with urllib.request.urlopen(probe.get("url") or "", timeout=0.5) as response:  # noqa: S310 - loopback
                return int(response.status) < 500
        except urllib.error.HTTPError as exc:
            return exc.code < 500
        except (OSError, ValueError):
            return False
    import re

    pattern = re.compile(probe.get("pattern") or "$^")
    for fd in (cmd["out"], cmd["err"]):
        try:
            text = os.pread(fd, 1 << 20, 0).decode("utf-8", "replace")
        except OSError:
            continue
        if pattern.search(text):
            return True
    return False


def _describe(probe):
    if probe.get("kind") == "tcp":
        return "nothing listening on 127.0.0.1:{}".format(probe.get("port"))
    if probe.get("kind") == "http":
        return "no answer below 500 from {}".format(probe.get("url"))
    return "no log line matched {!r}".format(probe.get("pattern"))


# ---- one measurement ---------------------------------------------------------------------------

def _record(cmd, **fields):
    record = {"name": cmd["name"], "exit_code": None, "timed_out": False, "duration_s": 0.0, "cpu_s": 0.0,
              "peak_rss": 0, "skipped": None, "failure": None, "ready_s": None, "leftover": 0, "limit": None,
              "lingering": []}
    record.update(fields)
    return record


def _watch(keeper, limits, until):
    """Poll until the tree ends or ``until``; return the limit it broke, or None."""
    tick = 0.02  # a short command ends before the first sample; its peak comes from the kernel's maxrss
    while time.monotonic() < until:
        if keeper.poll(min(tick, max(0.0, until - time.monotonic()))):
            return None
        keeper.sample()
        if limits.get("memory_bytes") and keeper.peak > limits["memory_bytes"]:
            return "memory"
        if limits.get("processes") and keeper.count > limits["processes"]:
            return "processes"
        tick = 0.05
    return None if keeper.poll(0.0) else "time"


def run_job(cmd, limits, deadline, grace_s):
    until = min(deadline, time.monotonic() + cmd["timeout_s"])
    if until <= time.monotonic():
        return _record(cmd, skipped="the run's time budget was used up", timed_out=True)
    keeper = Keeper(cmd, limits)
    broke = _watch(keeper, limits, until)
    if broke is None:
        end, cpu = keeper.done
        return _record(cmd, exit_code=keeper.main_code, duration_s=end - keeper.started, cpu_s=cpu,
                       peak_rss=keeper.peak)
    elapsed = time.monotonic() - keeper.started
    table = _table()
    lingering = [table[p][1] for p in descendants(keeper.pid, table) if p in table][:8]
    main_exited = keeper.main_exited
    left = keeper.kill(grace_s, dump=broke == "time")
    code = keeper.main_code
    fields = {"duration_s": elapsed, "peak_rss": keeper.peak, "leftover": left, "limit": broke,
              "cpu_s": keeper.done[1] if keeper.done else 0.0}
    if broke == "time":
        fields.update(timed_out=True)
        if main_exited:
            fields["lingering"] = lingering
            fields["failure"] = (f"its own process exited with code {code}, but {len(lingering)} process(es) it "
                                 f"started ({', '.join(lingering)}) were still running at the timeout")
    else:
        what = (f"{keeper.peak >> 20} MB of memory, over the limit of {limits['memory_bytes'] >> 20} MB"
                if broke == "memory" else f"{keeper.count} processes, over the limit of {limits['processes']}")
        fields.update(exit_code=code if code is not None else -9, failure="killed: it used " + what)
    return _record(cmd, **fields)


def start_service(cmd, limits, deadline):
    if deadline <= time.monotonic():
        return None, _record(cmd, skipped="the run's time budget was used up")
    keeper = Keeper(cmd, limits)
    probe = cmd["ready"]
    limit = min(deadline, time.monotonic() + probe.get("timeout_s", 30.0))
    failure = None
    while True:
        keeper.poll(0.0)
        keeper.sample()
        if keeper.main_exited:
            failure = f"exited with code {keeper.main_code} before it was ready"
            break
        if _ready(probe, cmd):
            break
        if time.monotonic() >= limit:
            failure = "not ready after {:g}s ({})".format(probe.get("timeout_s", 30.0), _describe(probe))
            break
        time.sleep(0.02)
    ready_s = None if failure else round(time.monotonic() - keeper.started, 3)
    return keeper, _record(cmd, failure=failure, ready_s=ready_s)


def stop_service(keeper, record, grace_s):
    died = keeper.main_exited
    code = keeper.main_code
    keeper.sample()
    record["leftover"] = keeper.kill(grace_s, dump=False)
    record["duration_s"] = time.monotonic() - keeper.started
    record["peak_rss"] = keeper.peak
    if keeper.done:
        record["cpu_s"] = keeper.done[1]
    if died and record["failure"] is None:
        record["failure"] = f"exited with code {code} while the jobs ran"
        record["exit_code"] = code


def execute(spec):
    limits, grace_s, deadline = spec["limits"], spec["grace_s"], spec["deadline"]
    results, services, blocked = [], [], None
    ok = {}
    try:
        for cmd in spec["commands"]:
            failed = [name for name in cmd["depends_on"] if ok.get(name) is False]
            if blocked is not None:
                record = _record(cmd, skipped=blocked)
            elif failed:
                record = _record(cmd, skipped="it depends on {}, which failed".format(", ".join(map(repr, failed))))
            elif cmd["role"] == "service":
                keeper, record = start_service(cmd, limits, deadline)
                if keeper is not None:
                    services.append((keeper, record))
                if record["failure"] is not None:
                    blocked = "service {!r} {}".format(cmd["name"], record["failure"])
            else:
                record = run_job(cmd, limits, deadline, grace_s)
            ok[cmd["name"]] = (record["skipped"] is None and record["failure"] is None
                               and (cmd["role"] == "service" or (record["exit_code"] == 0
                                                                 and not record["timed_out"])))
            results.append(record)
    finally:
        for keeper, record in reversed(services):
            stop_service(keeper, record, grace_s)
    return results


def _has_children():
    """True while this process has any child, running or not yet reaped."""
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    return True


def main():
    spec = marshal.loads(sys.stdin.buffer.read())
    if spec.get("cpus") and hasattr(os, "sched_setaffinity"):
        try:  # every process of the measurement inherits it
            os.sched_setaffinity(0, spec["cpus"])
        except OSError:
            pass
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    _prctl(PR_SET_DUMPABLE, 0)  # measured code cannot read this process's memory or file descriptors
    stopping = []

    def stop(signum, frame):
        stopping.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    try:
        results = execute(spec)
    except KeyboardInterrupt:
        results = None
    if results is None or _has_children():  # nothing outlives the measurement, sandbox or not
        for pid in descendants(os.getpid()):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    os.write(spec["result_fd"], marshal.dumps({"commands": results, "stopped": bool(stopping)}))
    return 0


if __name__ == "__main__":
    sys.stderr.flush()
    os._exit(main())  # no interpreter teardown: the result is written, nothing else to flush
