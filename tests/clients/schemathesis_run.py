#!/usr/bin/env python3
"""Schema-driven API fuzzing of a running Astra release binary with schemathesis (PyPI).

Usage: schemathesis_run.py <astra-binary> <fake-upstream-binary> <work-dir> [extra st args...]

Starts the fake LLM upstream (`astra-bench fake`) and the gateway on free ports with a fresh SQLite
data dir (or `DATABASE_URL` when set), registers a user, creates a workspace, an agent and an API
key, then runs `st run` against `/openapi.json` with the user's bearer token, the workspace header
and the internal key, over every operation, with the checks the reliability issue names:
`not_a_server_error`, `status_code_conformance`, `response_schema_conformance`.

Excluded operations (they would cut the fuzzer's own branch off, not find bugs):
`POST /auth/logout` (revokes the fuzzer's token). Everything else is fuzzed, including deletes:
the fuzzer only ever holds its own user's resources.

Exits with schemathesis' status; the gateway's log is kept in <work-dir>/astra.log.
"""

import json
import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

INTERNAL_KEY = "schemathesis-internal-key-0123456789"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.2)
    raise SystemExit(f"not up after {seconds} s: {url}")


def call(base, method, path, body=None, token=None, workspace=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if workspace:
        headers["X-Workspace-Id"] = workspace
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def main():
    if len(sys.argv) < 4:
        raise SystemExit(__doc__)
    astra_bin, fake_bin = (str(pathlib.Path(a).resolve()) for a in sys.argv[1:3])
    work = pathlib.Path(sys.argv[3]).resolve()
    extra = sys.argv[4:]
    work.mkdir(parents=True, exist_ok=True)
    fake_port, port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    procs = []
    try:
        procs.append(
            subprocess.Popen(
                [fake_bin, "fake", "--port", str(fake_port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "ASTRA_DATA_DIR": str(work / "data"),
            "JWT_SECRET": "schemathesis-jwt-secret-0123456789",
            "JWT_ACCESS_EXPIRES": "24h",
            "INTERNAL_API_KEY": INTERNAL_KEY,
            "OPENAI_API_KEY": "fake",
            "OPENAI_BASE_URL": f"http://127.0.0.1:{fake_port}/v1",
            "ASTRA_DEFAULT_PROVIDER": "openai",
            "ASTRA_ALLOW_PRIVATE_URLS": "false",
            "ASTRA_LIMITS_IP_PER_MINUTE": "0",
            "ASTRA_LIMITS_USER_PER_MINUTE": "0",
            "ASTRA_LIMITS_AUTH_PER_MINUTE": "0",
            "ASTRA_PASSWORD_MEMORY_KIB": "1024",
            "RUST_LOG": "warn",
        }
        if os.environ.get("DATABASE_URL"):
            env["DATABASE_URL"] = os.environ["DATABASE_URL"]
        log = open(work / "astra.log", "wb")
        procs.append(subprocess.Popen([astra_bin], env=env, stdout=log, stderr=log, cwd=work))
        wait_http(f"http://127.0.0.1:{fake_port}/health")
        wait_http(base + "/health")

        email = f"fuzz-{int(time.time())}@example.com"
        call(base, "POST", "/auth/register", {"email": email, "password": "fuzz-password-1"})
        token = call(base, "POST", "/auth/login", {"email": email, "password": "fuzz-password-1"})["accessToken"]
        workspace = call(base, "POST", "/workspaces", {"name": "fuzz"}, token=token)["id"]
        call(
            base,
            "POST",
            "/agents",
            {
                "id": "fuzzbot",
                "displayName": "Fuzz bot",
                "model": {"provider": "openai", "modelId": "gpt-4o-mini"},
                "systemPromptTemplate": "You are {{agent.name}}.",
                "skills": ["utilities"],
            },
            token=token,
            workspace=workspace,
        )

        args = [
            str(pathlib.Path(sys.executable).parent / "st"),
            "run",
            base + "/openapi.json",
            "--checks",
            "not_a_server_error,status_code_conformance,response_schema_conformance",
            "-H",
            f"Authorization: Bearer {token}",
            "-H",
            f"X-Workspace-Id: {workspace}",
            "-H",
            f"X-Api-Key: {INTERNAL_KEY}",
            "--exclude-path",
            "/auth/logout",
            "--request-timeout",
            "20",
            "--workers",
            "2",
            "--no-color",
        ] + extra
        print("+", " ".join(a if "Bearer" not in a else "Authorization: Bearer ***" for a in args), flush=True)
        return subprocess.call(args)
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main())
