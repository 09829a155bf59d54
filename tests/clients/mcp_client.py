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
import json
import pathlib
import sys
import urllib.error
import urllib.request

from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from harness import call, default_bin_dir, run_against_gateway


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

        await checks.run_async("tools/list has ask_chad with its input schema", list_tools)
        await checks.run_async("tools/call ask_chad runs a turn with a tool round", call_agent)
        await checks.run_async("surfaceId continues the conversation", continue_conversation)
        await checks.run_async("bad arguments are a tool error", bad_arguments_are_a_tool_error)
        await checks.run_async("an unknown tool is a protocol error", unknown_tool_is_a_protocol_error)

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

    await checks.run_async("refused without a key (401)", no_key)
    await checks.run_async("refused with an unknown key (401)", unknown_key)
    await checks.run_async("refused with a read-only key (403)", read_only_key)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin-dir", type=pathlib.Path, default=default_bin_dir())
    args = parser.parse_args()
    env = {"JWT_SECRET": "mcp-client-test-secret-0123456789", "ASTRA_LIMITS_USER_PER_MINUTE": "0"}

    def body(base, _work, checks):
        key, read_only = setup(base)
        asyncio.run(mcp_checks(base, key, read_only, checks))

    return run_against_gateway("mcp-client", args.bin_dir, env, body)

if __name__ == "__main__":
    sys.exit(main())
