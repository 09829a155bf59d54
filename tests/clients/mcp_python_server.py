"""An MCP server written with the Python `mcp` package (PyPI), for Astra's CI stage.

Run over stdio (default) or streamable HTTP (`--http PORT`, endpoint `/mcp` on 127.0.0.1).
It offers two tools: `echo` answers, `explode` fails (the SDK turns the exception into an
`isError` result). Works with `mcp` 2.x (`MCPServer`) and 1.x (`FastMCP`).
"""
import sys

HTTP = len(sys.argv) > 2 and sys.argv[1] == "--http"
PORT = int(sys.argv[2]) if HTTP else 8000

try:
    from mcp.server.mcpserver import MCPServer

    server = MCPServer("astra-ci")
    V2 = True
except ImportError:
    from mcp.server.fastmcp import FastMCP

    server = FastMCP("astra-ci", host="127.0.0.1", port=PORT)
    V2 = False


@server.tool()
def echo(text: str) -> str:
    """Echoes the text back."""
    return "echo: " + text


@server.tool()
def explode() -> str:
    """Always fails."""
    raise ValueError("the explode tool failed on purpose")


if __name__ == "__main__":
    if not HTTP:
        server.run()
    elif V2:
        server.run("streamable-http", host="127.0.0.1", port=PORT)
    else:
        server.run(transport="streamable-http")
