#!/usr/bin/env python3
"""Drives a release build of Astra with the real `openai` Python package (PyPI).

Usage: openai_sdk.py [--bin-dir target/release]

Starts the bench crate's fake OpenAI upstream (`astra-bench fake`) and `astra` on a temporary
SQLite data directory, registers a user, onboards (the starter agent `chad` has the
calculator), creates an `ak_` API key bound to the workspace, and then uses
`openai.OpenAI(base_url=…/v1, api_key="ak_…")` exactly as the README shows: lists models, runs
non-streamed and streamed completions on `agent/chad` that include a server-side tool round
(the fake answers `#tool` with a `calculator` call), reads `usage`, continues a stored session,
calls a pass-through model, and gets the SDK's own exception classes (BadRequestError,
NotFoundError, AuthenticationError, RateLimitError). Both processes are stopped whatever
happens. Prints one line per check and a closing `openai-sdk: N passed, N failed`; exits
non-zero on any failure.
"""

import argparse
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

import openai
from openai import OpenAI

# Chat requests per user per minute: the checks below stay under it, then exceed it on purpose.
USER_PER_MINUTE = 12
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

    def start_astra(self, fake_addr):
        port = free_port()
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "ASTRA_DATA_DIR": str(self.work / "data"),
            "JWT_SECRET": "openai-sdk-test-secret-0123456789",
            "OPENAI_API_KEY": "fake-upstream-key",
            "OPENAI_BASE_URL": f"http://{fake_addr}/v1",
            "ASTRA_DEFAULT_PROVIDER": "openai",
            "ASTRA_DEFAULT_MODEL": "gpt-4o-mini",
            "ASTRA_ALLOW_PRIVATE_URLS": "true",
            "ASTRA_LIMITS_IP_PER_MINUTE": "0",
            "ASTRA_LIMITS_USER_PER_MINUTE": str(USER_PER_MINUTE),
            "ASTRA_PASSWORD_MEMORY_KIB": "8192",
            "ASTRA_OPENAI_PASSTHROUGH_MODELS": "true",
            "RUST_LOG": "warn",
        }
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
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"astra exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(f"{base}/readiness", timeout=2) as r:
                    if r.status == 200:
                        return base
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError("astra did not become ready within 60 s")

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


def call(base, method, path, body=None, token=None):
    """A plain JSON call to Astra's own API (setup only)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{base}{path}", data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def setup(base):
    """A user, an onboarded workspace (with `chad`) and an `ak_` key bound to it."""
    status, reg = call(
        base,
        "POST",
        "/auth/register",
        {"email": "sdk-user@example.com", "password": "s3cret!pass-sdk"},
    )
    assert status == 201, (status, reg)
    jwt = reg["accessToken"]
    status, onboarded = call(base, "POST", "/onboarding/setup", {}, jwt)
    assert status in (200, 201), (status, onboarded)
    ws = onboarded["workspace"]["id"]
    assert any(a["id"] == "chad" for a in onboarded["agents"]), onboarded["agents"]
    status, key = call(base, "POST", "/api-keys", {"name": "sdk", "workspaceId": ws}, jwt)
    assert status == 201, (status, key)
    assert key["key"].startswith("ak_"), key
    return jwt, key


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def run(self, name, fn):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - every failure is reported, then counted
            self.failed += 1
            print(f"FAIL - {name}: {type(e).__name__}: {e}", flush=True)
        else:
            self.passed += 1
            print(f"ok - {name}", flush=True)


def expect(exc_type, fn):
    try:
        fn()
    except exc_type as e:
        return e
    raise AssertionError(f"expected {exc_type.__name__}")


def sdk_checks(base, jwt, key, checks):
    # The lines a Python user writes (README, "OpenAI-compatible API"); no SDK retries, so a
    # 429 surfaces at once instead of being retried after Retry-After.
    client = OpenAI(base_url=f"{base}/v1", api_key=key["key"], max_retries=0)
    state = {}

    def models():
        ids = [m.id for m in client.models.list()]
        assert "agent/chad" in ids, ids
        assert "agent/researcher" in ids, ids
        # Pass-through is on for this gateway: raw models of the configured provider.
        assert "openai/gpt-4o-mini" in ids, ids
        assert all(i.startswith(("agent/", "openai/")) for i in ids), ids

    def completion_with_tool_round():
        reply = client.chat.completions.create(
            model="agent/chad",
            messages=[{"role": "user", "content": "What is 6*7? #tool"}],
        )
        assert reply.object == "chat.completion", reply
        assert reply.id.startswith("chatcmpl-"), reply.id
        choice = reply.choices[0]
        assert choice.message.role == "assistant"
        assert choice.message.content, reply
        assert choice.finish_reason == "stop"
        assert not choice.message.tool_calls, "the agent's tools already ran"
        astra = reply.model_extra["astra"]
        assert astra["toolsUsed"] == ["calculator"], astra
        # Two inference calls (tool call, then the answer) are in the usage.
        assert reply.usage.completion_tokens == 8 + 6, reply.usage
        assert reply.usage.total_tokens == reply.usage.prompt_tokens + 14, reply.usage
        state["surface"] = astra["surfaceId"]
        state["session"] = astra["sessionId"]

    def conversation_and_overrides():
        reply = client.chat.completions.create(
            model="agent/chad",
            messages=[
                {"role": "system", "content": "Answer briefly."},
                {"role": "user", "content": "My name is Ada."},
                {"role": "assistant", "content": "Hello Ada."},
                {"role": "user", "content": "What is my name?"},
            ],
            temperature=0.2,
            max_tokens=64,
            user="end-user-42",
        )
        assert reply.choices[0].message.content
        assert reply.usage.total_tokens > 0

    def continue_session():
        reply = client.chat.completions.create(
            model="agent/chad",
            messages=[{"role": "user", "content": "And again?"}],
            extra_headers={"X-Astra-Session": state["surface"]},
        )
        assert reply.model_extra["astra"]["sessionId"] == state["session"], reply.model_extra

    def streamed_with_tool_round():
        stream = client.chat.completions.create(
            model="agent/chad",
            messages=[{"role": "user", "content": "Stream 6*7 please #tool"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
        assert all(c.object == "chat.completion.chunk" for c in chunks)
        assert len({c.id for c in chunks}) == 1
        text = "".join(
            c.choices[0].delta.content or "" for c in chunks if c.choices
        )
        assert text, chunks
        finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
        assert [c.choices[0].finish_reason for c in finals] == ["stop"], finals
        assert finals[0].model_extra["astra"]["toolsUsed"] == ["calculator"]
        assert not any(c.choices and c.choices[0].delta.tool_calls for c in chunks)
        usage = chunks[-1].usage
        assert usage is not None and usage.completion_tokens == 8 + 6, chunks[-1]

    def passthrough_model():
        reply = client.chat.completions.create(
            model="openai/gpt-4o-mini",
            messages=[{"role": "user", "content": "Plain call"}],
        )
        # The fake's six words, passed through unchanged.
        assert reply.choices[0].message.content == "Sure, here is a short bench ", reply
        assert reply.usage.completion_tokens == 6, reply.usage
        assert "sessionId" not in reply.model_extra["astra"]

    def bad_request():
        e = expect(
            openai.BadRequestError,
            lambda: client.chat.completions.create(
                model="agent/chad",
                messages=[{"role": "user", "content": "hi"}],
                temperature=5,
            ),
        )
        assert e.status_code == 400
        assert e.body["param"] == "temperature", e.body
        assert e.body["type"] == "invalid_request_error", e.body

    def unknown_model():
        e = expect(
            openai.NotFoundError,
            lambda: client.chat.completions.create(
                model="agent/nobody", messages=[{"role": "user", "content": "hi"}]
            ),
        )
        assert e.body["code"] == "model_not_found", e.body
        expect(
            openai.NotFoundError,
            lambda: client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
            ),
        )

    def authentication():
        bad = OpenAI(base_url=f"{base}/v1", api_key="ak_" + "A" * 43, max_retries=0)
        e = expect(openai.AuthenticationError, lambda: bad.models.list())
        assert e.status_code == 401 and e.body["code"] == "invalid_api_key", e.body
        # A revoked key is refused from the next request on.
        status, spare = call(base, "POST", "/api-keys", {"name": "spare"}, jwt)
        assert status == 201, spare
        spare_client = OpenAI(base_url=f"{base}/v1", api_key=spare["key"], max_retries=0)
        assert spare_client.models.list().data
        status, _ = call(base, "DELETE", f"/api-keys/{spare['id']}", None, jwt)
        assert status == 204, status
        expect(openai.AuthenticationError, lambda: spare_client.models.list())

    def rate_limit():
        # Every admitted completion above counted against the per-user minute; spend the rest
        # (twice the limit covers a window that turns over meanwhile).
        ask = lambda: client.chat.completions.create(  # noqa: E731
            model="agent/chad", messages=[{"role": "user", "content": "hi"}]
        )
        attempts = 2 * USER_PER_MINUTE + 1
        for _ in range(attempts):
            try:
                ask()
            except openai.RateLimitError as e:
                retry_after = int(e.response.headers["retry-after"])
                assert 1 <= retry_after <= 60, retry_after
                assert e.body["code"] == "rate_limit_exceeded", e.body
                return
        raise AssertionError(f"no RateLimitError after {attempts} more requests")

    for name, fn in [
        ("models.list", models),
        ("non-streamed completion with a tool round", completion_with_tool_round),
        ("conversation, temperature, max_tokens, user", conversation_and_overrides),
        ("X-Astra-Session continues the stored session", continue_session),
        ("streamed completion with a tool round and usage", streamed_with_tool_round),
        ("pass-through model", passthrough_model),
        ("BadRequestError", bad_request),
        ("NotFoundError", unknown_model),
        ("AuthenticationError", authentication),
        ("RateLimitError with Retry-After", rate_limit),
    ]:
        checks.run(name, fn)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_dir = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", "target")) / "release"
    parser.add_argument("--bin-dir", type=pathlib.Path, default=default_dir)
    args = parser.parse_args()
    # A terminated run still stops its servers and removes its directory (`finally` below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(f"openai package {openai.__version__}; binaries from {args.bin_dir}", flush=True)
    work = pathlib.Path(tempfile.mkdtemp(prefix="astra-openai-sdk-"))
    procs = Processes(args.bin_dir.resolve(), work)
    checks = Checks()
    try:
        fake = procs.start_fake()
        base = procs.start_astra(fake)
        jwt, key = setup(base)
        sdk_checks(base, jwt, key, checks)
    except Exception as e:  # noqa: BLE001 - a setup failure is one failed check
        checks.failed += 1
        print(f"FAIL - setup: {type(e).__name__}: {e}", flush=True)
    finally:
        procs.stop()
        if checks.failed:
            procs.tail_logs()
        shutil.rmtree(work, ignore_errors=True)
    print(f"openai-sdk: {checks.passed} passed, {checks.failed} failed", flush=True)
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
