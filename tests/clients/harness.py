"""What the client checks share: the bench crate's fake upstream and one `astra` gateway started
from release binaries on a temporary SQLite data directory, plain JSON calls to Astra's own API,
and a pass/fail counter that prints the closing line `.ci/run` sums.

Standard library only, so a check that imports it pulls in no client package it does not test.
"""

import ctypes
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

LISTENING = "astra-bench listening on "


def die_with_parent():
    """Runs in each child before exec: the kernel sends it SIGTERM when this script dies, even
    by SIGKILL, so no server outlives the test."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(proc, port, limit=60.0):
    """Polls `/readiness` until it answers 200; fails if the process exits first."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"astra exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readiness", timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"astra did not become ready within {limit:.0f} s")


class Processes:
    """The fake upstream and the gateway, stopped (and their logs kept) on exit."""

    def __init__(self, bin_dir, work):
        self.bin_dir = bin_dir
        self.work = work
        self.procs = []

    def start_fake(self):
        log = open(self.work / "fake.log", "w")
        proc = subprocess.Popen(
            [str(self.bin_dir / "astra-bench"), "fake", "--port", "0", "--tokens", "6"],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            preexec_fn=die_with_parent,
        )
        self.procs.append(proc)
        line = proc.stdout.readline().strip()
        if not line.startswith(LISTENING):
            raise RuntimeError(f"fake upstream did not start: {line!r}")
        return line[len(LISTENING):]

    def start_astra(self, fake_addr, extra_env, host="127.0.0.1"):
        """Starts the gateway on the fake upstream; `extra_env` adds or overrides settings.
        Returns its base URL on `host` (`localhost` for a browser: a trustworthy origin)."""
        port = free_port()
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "ASTRA_DATA_DIR": str(self.work / "data"),
            "OPENAI_API_KEY": "fake-upstream-key",
            "OPENAI_BASE_URL": f"http://{fake_addr}/v1",
            "ASTRA_DEFAULT_PROVIDER": "openai",
            "ASTRA_DEFAULT_MODEL": "gpt-4o-mini",
            "ASTRA_ALLOW_PRIVATE_URLS": "true",
            "ASTRA_LIMITS_IP_PER_MINUTE": "0",
            "ASTRA_PASSWORD_MEMORY_KIB": "8192",
            "RUST_LOG": "warn",
        }
        env.update(extra_env)
        log = open(self.work / "astra.log", "w")
        # cwd: the temp dir, so no ./astra.yml of the checkout is read.
        proc = subprocess.Popen(
            [str(self.bin_dir / "astra")],
            env=env,
            cwd=self.work,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
        self.procs.append(proc)
        wait_ready(proc, port)
        return f"http://{host}:{port}"

    def stop(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc.stdout:
                proc.stdout.close()

    def tail_logs(self):
        for name in ("astra.log", "fake.log"):
            path = self.work / name
            if path.exists():
                lines = path.read_text(errors="replace").splitlines()[-20:]
                print(f"--- last lines of {name}", *lines, sep="\n", file=sys.stderr)


def call(base, method, path, body=None, token=None, headers=None):
    """A plain JSON call to Astra's own API: `(status, decoded body or None)`."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{base}{path}", data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            raw = r.read()
            try:
                return r.status, json.loads(raw) if raw else None
            except ValueError:
                return r.status, raw.decode(errors="replace")
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw) if raw else None
        except ValueError:
            return e.code, raw.decode(errors="replace")


class Checks:
    """Counts checks; each failure is printed with its first line and counted, never raised."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def _failed(self, name, e):
        self.failed += 1
        msg = str(e).splitlines()[0] if str(e) else ""
        print(f"FAIL - {name}: {type(e).__name__}: {msg}", flush=True)

    def _passed(self, name, note=None):
        self.passed += 1
        print(f"ok - {name}" + (f" ({note})" if note else ""), flush=True)

    def run(self, name, fn):
        """Runs one check; what `fn` returns, if anything, is printed beside its name."""
        try:
            note = fn()
        except Exception as e:  # noqa: BLE001 - every failure is reported, then counted
            self._failed(name, e)
        else:
            self._passed(name, note)

    async def run_async(self, name, fn):
        try:
            await fn()
        except Exception as e:  # noqa: BLE001 - every failure is reported, then counted
            self._failed(name, e)
        else:
            self._passed(name)

    def closing(self, label):
        """Prints `<label>: N passed, N failed` and returns the exit code."""
        print(f"{label}: {self.passed} passed, {self.failed} failed", flush=True)
        return 1 if self.failed else 0


def run_against_gateway(label, bin_dir, extra_env, body, host="127.0.0.1"):
    """Starts the fake upstream and the gateway in a temporary directory, runs
    `body(base, work, checks)`, stops both whatever happens, and prints the closing line.
    A failure outside a check (setup) counts as one failed check."""
    # A terminated run still stops its servers and removes its directory (`finally` below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = pathlib.Path(tempfile.mkdtemp(prefix=f"astra-{label}-"))
    procs = Processes(pathlib.Path(bin_dir).resolve(), work)
    checks = Checks()
    try:
        fake = procs.start_fake()
        base = procs.start_astra(fake, extra_env, host)
        body(base, work, checks)
    except Exception as e:  # noqa: BLE001 - a setup failure is one failed check
        checks._failed("setup", e)
    finally:
        procs.stop()
        if checks.failed:
            procs.tail_logs()
        shutil.rmtree(work, ignore_errors=True)
    return checks.closing(label)


def default_bin_dir():
    return pathlib.Path(os.environ.get("CARGO_TARGET_DIR", "target")) / "release"
