//! Agents using tools from MCP servers (issue #16, client side), against real MCP servers
//! started by the tests: a streamable-HTTP server in the test process ([`fake`]), a stdio
//! server in Python's standard library (`tests/clients/mcp_stdio_server.py`), and — in the CI
//! stage that installs it — a server written with the Python `mcp` package ([`python_sdk`]).

mod fake;
mod python_sdk;
mod stdio;
mod support;
mod tools;
mod workspace;
