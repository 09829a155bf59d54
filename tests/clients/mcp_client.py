#!/usr/bin/env python3
"""Drives a release build of Astra's MCP server (`POST /mcp`) with the real `mcp` Python package.

Usage: mcp_client.py [--bin-dir target/release]

Starts the bench crate's fake OpenAI upstream (`astra-bench fake`) and `astra` on a temporary
SQLite data directory, registers a user, onboards (the starter agents, `chad` among them), creates
an `ak_` API key bound to the workspace, then connects as the README shows —
`mcp.Client(streamable_http_client(".../mcp", http_client=<client with Authorization: Bearer
ak_...>))` — and checks: the tools list (`ask_chad` with its input schema), a call of `ask_chad`
that runs a turn with a server-side tool round and answers the reply text and its structured
content, a call continuing that conversation by `surfaceId`, bad arguments (a tool error), an
unknown tool (a protocol error), and connections refused without a key, with an unknown key and
with a read-only key. Both processes are stopped whatever happens. Prints one line per check and a
closing `mcp-client: N passed, N failed`; exits non-zero on any failure.
"""

import argparse
import asyncio
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

from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

LISTENING = "astra-bench listening on "


def die_with_parent():
    """Runs in each child before exec: the kernel sends it SIGTERM when this script dies."""
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
            "JWT_SECRET": "mcp-client-test-secret-0123456789",
            "OPENAI_API_KEY": "fake-upstream-key",
            "OPENAI_BASE_URL": f"http://{fake_addr}/v1",
            "ASTRA_DEFAULT_PROVIDER": "openai",
            "ASTRA_DEFAULT_MODEL": "gpt-4o-mini",
            "ASTRA_ALLOW_PRIVATE_URLS": "true",
            "ASTRA_LIMITS_IP_PER_MINUTE": "0",
            "ASTRA_LIMITS_USER_PER_MINUTE": "0",
            "ASTRA_PASSWORD_MEMORY_KIB": "8192",
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
    """A user, an onboarded workspace (with `chad`), a chat key bound to it and a read-only key."""
    status, reg = call(
        base,
        "POST",
        "/auth/register",
        {"email": "mcp-user@example.com", "password": "s3cret!pass-mcp"},
    )
    assert status == 201, (status, reg)
    jwt = reg["accessToken"]
    status, onboarded = call(base, "POST", "/onboarding/setup", {}, jwt)
    assert status in (200, 201), (status, onboarded)
    ws = onboarded["workspace"]["id"]
    status, key = call(base, "POST", "/api-keys", {"name": "mcp", "workspaceId": ws}, jwt)
    assert status == 201, (status, key)
    status, read_only = call(
        base, "POST", "/api-keys", {"name": "mcp-ro", "scopes": ["read"]}, jwt
    )
    assert status == 201, (status, read_only)
    return key["key"], read_only["key"]


def connect(url, key):
    """The README's client: streamable HTTP with the key as a bearer token."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    http = create_mcp_http_client(headers=headers)
    return Client(streamable_http_client(url, http_client=http))


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    async def run(self, name, fn):
        try:
            await fn()
        except Exception as e:  # noqa: BLE001 - every failure is reported, then counted
            self.failed += 1
            print(f"FAIL - {name}: {type(e).__name__}: {e}", flush=True)
        else:
            self.passed += 1
            print(f"ok - {name}", flush=True)


def text_of(result):
    return "".join(getattr(block, "text", "") for block in result.content)


async def refused(url, key):
    """Connecting and listing must fail; returns the error's text."""
    try:
        async with connect(url, key) as client:
            await client.list_tools()
    except BaseException as e:  # noqa: BLE001 - the SDK may wrap it in an ExceptionGroup
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        return repr(e)
    raise AssertionError("the connection was not refused")


async def mcp_checks(base, key, read_only, checks):
    url = f"{base}/mcp"
    state = {}

    async with connect(url, key) as client:

        async def list_tools():
            listed = await client.list_tools()
            names = [t.name for t in listed.tools]
            assert "ask_chad" in names, names
            assert all(n.startswith("ask_") for n in names), names
            chad = next(t for t in listed.tools if t.name == "ask_chad")
            assert chad.description and "chad" in chad.description, chad.description
            schema = chad.input_schema if hasattr(chad, "input_schema") else chad.inputSchema
            assert schema["required"] == ["message"], schema
            assert set(schema["properties"]) == {"message", "surfaceId"}, schema

        async def call_agent():
            # The fake upstream answers `#tool` with a calculator call: a server-side tool round.
            result = await client.call_tool("ask_chad", {"message": "What is 6*7? #tool"})
            is_error = getattr(result, "is_error", getattr(result, "isError", None))
            assert not is_error, result
            assert text_of(result), result
            out = getattr(result, "structured_content", None) or getattr(
                result, "structuredContent", None
            )
            assert out["reply"] == text_of(result), out
            assert out["toolsUsed"] == ["calculator"], out
            assert out["surfaceId"].startswith("mcp-"), out
            state["surface"], state["session"] = out["surfaceId"], out["sessionId"]

        async def continue_conversation():
            result = await client.call_tool(
                "ask_chad", {"message": "And again?", "surfaceId": state["surface"]}
            )
            out = getattr(result, "structured_content", None) or getattr(
                result, "structuredContent", None
            )
            assert out["sessionId"] == state["session"], out

        async def bad_arguments_are_a_tool_error():
            result = await client.call_tool("ask_chad", {"message": ""})
            is_error = getattr(result, "is_error", getattr(result, "isError", None))
            assert is_error, result
            assert text_of(result).startswith("VALIDATION_ERROR"), text_of(result)

        async def unknown_tool_is_a_protocol_error():
            try:
                result = await client.call_tool("ask_nobody", {"message": "hi"})
            except Exception as e:  # noqa: BLE001 - the SDK's MCPError
                assert "Unknown tool" in str(e), repr(e)
                return
            raise AssertionError(f"expected an error, got {result}")

        await checks.run("tools/list has ask_chad with its input schema", list_tools)
        await checks.run("tools/call ask_chad runs a turn with a tool round", call_agent)
        await checks.run("surfaceId continues the conversation", continue_conversation)
        await checks.run("bad arguments are a tool error", bad_arguments_are_a_tool_error)
        await checks.run("an unknown tool is a protocol error", unknown_tool_is_a_protocol_error)

    def status_of(key):
        """The HTTP status of a plain `initialize` POST with `key` (what the client was told)."""
        body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "probe", "version": "1"}}}
        req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
        req.add_header("Content-Type", "application/json")
        req.add_header("Accept", "application/json, text/event-stream")
        if key:
            req.add_header("Authorization", f"Bearer {key}")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    async def no_key():
        await refused(url, None)
        assert status_of(None) == 401

    async def unknown_key():
        bogus = "ak_" + "x" * 43
        await refused(url, bogus)
        assert status_of(bogus) == 401

    async def read_only_key():
        await refused(url, read_only)
        assert status_of(read_only) == 403
        assert status_of(key) == 200

    await checks.run("refused without a key (401)", no_key)
    await checks.run("refused with an unknown key (401)", unknown_key)
    await checks.run("refused with a read-only key (403)", read_only_key)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", default="target/release")
    args = parser.parse_args()
    bin_dir = pathlib.Path(args.bin_dir).resolve()
    work = pathlib.Path(tempfile.mkdtemp(prefix="astra-mcp-"))
    procs = Processes(bin_dir, work)
    checks = Checks()
    try:
        fake = procs.start_fake()
        base = procs.start_astra(fake)
        key, read_only = setup(base)
        asyncio.run(mcp_checks(base, key, read_only, checks))
    except Exception as e:  # noqa: BLE001 - a setup failure is one failed check
        checks.failed += 1
        print(f"FAIL - setup: {type(e).__name__}: {e}", flush=True)
    finally:
        procs.stop()
        if checks.failed:
            procs.tail_logs()
        shutil.rmtree(work, ignore_errors=True)
    print(f"mcp-client: {checks.passed} passed, {checks.failed} failed", flush=True)
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(main())
