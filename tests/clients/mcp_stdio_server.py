#!/usr/bin/env python3
"""A tiny MCP server over stdio, standard library only, for Astra's operator-server tests.

It speaks newline-delimited JSON-RPC 2.0 (the MCP stdio transport) and offers:
  echo     returns "echo: <text>"
  explode  always fails (a result with isError: true)
  die      exits the process in the middle of the call (the gateway must restart it)
  grow     adds the tool "late" and sends notifications/tools/list_changed
Each start appends a line to the file named by MCP_TEST_STARTS (when set), so a test can
see restarts.
"""
import json
import os
import sys

TOOLS = [
    {"name": "echo", "description": "Echoes the text back.",
     "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}},
    {"name": "explode", "description": "Always fails.",
     "inputSchema": {"type": "object", "properties": {}}},
    {"name": "die", "description": "Kills the server mid-call.",
     "inputSchema": {"type": "object", "properties": {}}},
    {"name": "grow", "description": "Adds a tool.",
     "inputSchema": {"type": "object", "properties": {}}},
]
SUPPORTED = {"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"}


def send(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def text(value, error=False):
    return {"content": [{"type": "text", "text": value}], "isError": error}


def call(name, args):
    if name == "echo":
        return text("echo: " + str(args.get("text", "")))
    if name == "explode":
        return text("the explode tool failed on purpose", error=True)
    if name == "die":
        os._exit(3)
    if name == "grow":
        if not any(t["name"] == "late" for t in TOOLS):
            TOOLS.append({"name": "late", "description": "Added at run time.",
                          "inputSchema": {"type": "object", "properties": {}}})
        send({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
        return text("grown")
    if name == "late":
        return text("late tool ran")
    return None


def main():
    starts = os.environ.get("MCP_TEST_STARTS")
    if starts:
        with open(starts, "a") as f:
            f.write("start\n")
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        msg = json.loads(line)
        if "id" not in msg or "method" not in msg:
            continue  # notifications and responses
        mid, method, params = msg["id"], msg["method"], msg.get("params") or {}
        if method == "initialize":
            asked = params.get("protocolVersion")
            version = asked if asked in SUPPORTED else "2025-06-18"
            send({"jsonrpc": "2.0", "id": mid, "result": {
                "protocolVersion": version,
                "capabilities": {"tools": {"listChanged": True}},
                "serverInfo": {"name": "astra-test-stdio", "version": "1.0.0"}}})
        elif method == "ping":
            send({"jsonrpc": "2.0", "id": mid, "result": {}})
        elif method == "tools/list":
            send({"jsonrpc": "2.0", "id": mid, "result": {"tools": TOOLS}})
        elif method == "tools/call":
            result = call(params.get("name"), params.get("arguments") or {})
            if result is None:
                send({"jsonrpc": "2.0", "id": mid,
                      "error": {"code": -32602, "message": "unknown tool"}})
            else:
                send({"jsonrpc": "2.0", "id": mid, "result": result})
        else:
            send({"jsonrpc": "2.0", "id": mid,
                  "error": {"code": -32601, "message": "method not found"}})


if __name__ == "__main__":
    main()
