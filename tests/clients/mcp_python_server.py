"""An MCP server written with the Python `mcp` package (PyPI), for Astra's CI stage.

Run over stdio (default) or streamable HTTP (`--http PORT`, endpoint `/mcp`). It offers
two tools: `echo` answers, `explode` fails (the SDK turns the exception into an
`isError` result).
"""
import sys

from mcp.server.fastmcp import FastMCP

PORT = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[1] == "--http" else 8000
mcp = FastMCP("astra-ci", host="127.0.0.1", port=PORT)


@mcp.tool()
def echo(text: str) -> str:
    """Echoes the text back."""
    return "echo: " + text


@mcp.tool()
def explode() -> str:
    """Always fails."""
    raise ValueError("the explode tool failed on purpose")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--http":
        mcp.run(transport="streamable-http")
    else:
        mcp.run()
