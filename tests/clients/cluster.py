#!/usr/bin/env python3
"""Three real `astra` replicas on one PostgreSQL database and one Redis behave as one gateway.

Usage: cluster.py --bin-dir target/release --pg postgres://postgres@127.0.0.1:5432/test
                  [--redis redis://127.0.0.1:6379]

Creates a fresh database, starts a fake OpenAI upstream (stdlib HTTP server in this process,
which also counts the hits of `http_request` jobs) and three `astra` processes (replicas r1, r2,
r3) sharing the database, Redis (under a key prefix of their own) and no JWT_SECRET (the first
replica stores one in the database, the others read it). Requests are spread over the replicas
round-robin. Checks:

- every replica lists all three in `/admin/health` (Redis heartbeats);
- a token issued by r1 works on r2 and r3; logout on r2 revokes it on r1 and r3 (after both
  cached the token version), and how long that took;
- a member removed through r1 is refused on r2 and r3 (after both cached the role);
- a burst of 3x the per-user limit over the replicas gets exactly the limit of 200s (±1);
- an SSE stream open on r1 (a slow upstream) is counted, with its busy agent, in the cluster view
  of r2 and r3 (`/admin/health` `cluster.openStreams`, `cluster.busyAgents`), not in their own;
- 5 provider failures spread over the replicas open the breaker on all three;
- 200 `http_request` jobs enqueued over the replicas are each run exactly once;
- 50 webhook deliveries (every fifth answered 500 once, so retried) are each sent exactly once per
  attempt, as many times as their row counts attempts, under one `webhook-id`;
- 10 monitors created over the replicas run once each, and once more each after a disable on one
  replica and an enable on another (the receiver counts both rounds);
- r3 is SIGKILLed while it holds 4 leased jobs (the receiver holds every first attempt): r1 and r2
  finish their own at once and r3's after its lease ran out (timeout + 60 s), each sent again under
  the same `Idempotency-Key` with attempt id `:2`, so every job takes effect exactly once.

Prints one line per check and `cluster: N passed, N failed`; exits non-zero on any failure.
All processes are stopped and the database dropped whatever happens.
"""

import argparse
import collections
import http.server
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from harness import Checks, call, die_with_parent, free_port

USER_PER_MINUTE = 10
INTERNAL_KEY = "cluster-test-internal-key-0123456789"
ENCRYPTION_KEY = "00" * 32
REPLICAS = ("r1", "r2", "r3")
JOBS = 200
WEBHOOK_DELIVERIES = 50
MONITORS = 10
# Slow jobs of the SIGKILL check: one per job slot of each replica (ASTRA_JOB_CONCURRENCY).
JOB_CONCURRENCY = 4
SLOW_JOBS = 3 * JOB_CONCURRENCY
SLOW_JOB_TIMEOUT_S = 6
LEASE_MARGIN_S = 60  # src/jobs/worker.rs: a job's lease is its timeout + 60 s


class Fake(http.server.BaseHTTPRequestHandler):
    """OpenAI Chat Completions (non-streamed and SSE); `#fail` in the last user message answers
    500. `GET /hit/<id>` counts a job's request; `GET /mon/<id>` a monitor's check; `POST /hook`
    a webhook attempt (by `webhook-id`; the first attempt of every fifth delivery answers 500);
    `GET /slow/<id>` a slow job's attempt (held until `release` is set)."""

    hits = collections.Counter()
    monitor_hits = collections.Counter()
    hook_attempts = collections.Counter()
    hook_order = []
    # (Idempotency-Key, X-Astra-Attempt-Id, arrival time) of every slow job request.
    slow = []
    release = threading.Event()
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def _send(self, status, body, ctype="application/json"):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.startswith("/hit/"):
            with Fake.lock:
                Fake.hits[self.path[5:]] += 1
            return self._send(200, "{}")
        if self.path.startswith("/mon/"):
            with Fake.lock:
                Fake.monitor_hits[self.path[5:]] += 1
            return self._send(200, "{}")
        if self.path.startswith("/slow/"):
            key = self.headers.get("Idempotency-Key", "")
            attempt = self.headers.get("X-Astra-Attempt-Id", "")
            with Fake.lock:
                Fake.slow.append((key, attempt, time.monotonic()))
            if attempt.endswith(":1"):
                Fake.release.wait(SLOW_JOB_TIMEOUT_S - 1)
            try:
                return self._send(200, "{}")
            except OSError:
                return None  # the replica that sent it was killed
        if self.path.startswith("/v1/models"):
            return self._send(200, json.dumps({"object": "list", "data": [
                {"id": "gpt-4o-mini", "object": "model", "created": 0, "owned_by": "fake"}]}))
        self._send(404, "{}")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        req = json.loads(self.rfile.read(length) or b"{}")
        if self.path == "/hook":
            wid = self.headers.get("webhook-id", "")
            with Fake.lock:
                if wid not in Fake.hook_attempts:
                    Fake.hook_order.append(wid)
                Fake.hook_attempts[wid] += 1
                fail = Fake.hook_order.index(wid) % 5 == 4 and Fake.hook_attempts[wid] == 1
            return self._send(500 if fail else 200, "{}")
        if not self.path.endswith("/chat/completions"):
            return self._send(404, "{}")
        last = ""
        for m in req.get("messages", []):
            if m.get("role") == "user" and isinstance(m.get("content"), str):
                last = m["content"]
        if "#fail" in last:
            return self._send(500, json.dumps({"error": {"message": "fake outage", "type": "server_error"}}))
        model = req.get("model", "gpt-4o-mini")
        usage = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
        if not req.get("stream"):
            return self._send(200, json.dumps({
                "id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello there."},
                             "finish_reason": "stop"}],
                "usage": usage}))
        chunk = lambda delta, finish: "data: " + json.dumps({  # noqa: E731
            "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}) + "\n\n"
        if "#slow" in last:
            # Eight chunks 600 ms apart: the stream stays open for ~5 s.
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            parts = [(chunk({"role": "assistant", "content": ""}, None), 0)]
            parts += [(chunk({"content": f"{i} "}, None), 0.6) for i in range(8)]
            parts += [(chunk({}, "stop"), 0), ("data: [DONE]\n\n", 0)]
            for part, pause in parts:
                self.wfile.write(part.encode())
                self.wfile.flush()
                time.sleep(pause)
            self.close_connection = True
            return None
        body = chunk({"role": "assistant", "content": ""}, None) + chunk({"content": "Hello there."}, None)
        body += chunk({}, "stop")
        body += "data: " + json.dumps({"id": "chatcmpl-fake", "object": "chat.completion.chunk",
                                       "created": 0, "model": model, "choices": [], "usage": usage}) + "\n\n"
        body += "data: [DONE]\n\n"
        self._send(200, body, "text/event-stream")


class Cluster:
    def __init__(self, args, work):
        self.args = args
        self.work = work
        self.procs = {}
        self.bases = {}
        self.ports = {}
        pid = os.getpid()
        self.db = f"astra_cluster_{pid}"
        self.prefix = f"astra-cluster-{pid}-{int(time.time())}:"
        admin = urllib.parse.urlsplit(args.pg)
        self.db_url = urllib.parse.urlunsplit(admin._replace(path=f"/{self.db}"))
        self.fake = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Fake)
        threading.Thread(target=self.fake.serve_forever, daemon=True).start()
        self.fake_addr = f"127.0.0.1:{self.fake.server_address[1]}"

    def psql(self, sql):
        subprocess.run(["psql", self.args.pg, "-qAtc", sql], check=True, capture_output=True)

    def create_db(self):
        self.psql(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
        self.psql(f'CREATE DATABASE "{self.db}"')

    def start(self, name):
        port = free_port()
        self.ports[name] = port
        (self.work / name).mkdir(exist_ok=True)
        (self.work / name / "astra.yml").write_text(
            "inference:\n"
            "  retries:\n    maxRetries: 0\n"
            "  circuitBreaker:\n    failureThreshold: 5\n    windowSeconds: 60\n    openSeconds: 120\n"
        )
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "DATABASE_URL": self.db_url,
            "ASTRA_DB_MAX_CONNECTIONS": "8",
            "ASTRA_REDIS_URL": self.args.redis,
            "ASTRA_REDIS_PREFIX": self.prefix,
            "ASTRA_REPLICA_ID": name,
            "ASTRA_DATA_DIR": str(self.work / name / "data"),
            "ASTRA_ENCRYPTION_KEY": ENCRYPTION_KEY,
            "INTERNAL_API_KEY": INTERNAL_KEY,
            "OPENAI_API_KEY": "fake-upstream-key",
            "OPENAI_BASE_URL": f"http://{self.fake_addr}/v1",
            "ASTRA_DEFAULT_PROVIDER": "openai",
            "ASTRA_DEFAULT_MODEL": "gpt-4o-mini",
            "ASTRA_ALLOW_PRIVATE_URLS": "true",
            "ASTRA_LIMITS_IP_PER_MINUTE": "0",
            "ASTRA_LIMITS_AUTH_PER_MINUTE": "0",
            "ASTRA_LIMITS_USER_PER_MINUTE": str(USER_PER_MINUTE),
            "ASTRA_PASSWORD_MEMORY_KIB": "8192",
            "ASTRA_WORKER_POLL_MS": "100",
            "ASTRA_JOB_CONCURRENCY": str(JOB_CONCURRENCY),
            "ASTRA_WEBHOOK_RETRY_BASE_MS": "200",
            "RUST_LOG": "warn,astra=info",
        }
        log = open(self.work / f"{name}.log", "w")
        self.procs[name] = subprocess.Popen(
            [str(self.args.bin_dir.resolve() / "astra")], env=env, cwd=self.work / name,
            stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
        self.bases[name] = f"http://127.0.0.1:{port}"

    def wait_ready(self):
        deadline = time.monotonic() + 90
        for name, base in self.bases.items():
            while True:
                proc = self.procs[name]
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}")
                try:
                    with urllib.request.urlopen(f"{base}/readiness", timeout=2) as r:
                        if r.status == 200:
                            break
                except (urllib.error.URLError, ConnectionError, OSError):
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not become ready")
                time.sleep(0.2)

    def stop(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.fake.shutdown()
        try:
            self.psql(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
        except subprocess.CalledProcessError:
            pass

    def tail_logs(self):
        for name in REPLICAS:
            path = self.work / f"{name}.log"
            if path.exists():
                lines = path.read_text(errors="replace").splitlines()[-15:]
                print(f"--- last lines of {name}.log", *lines, sep="\n", file=sys.stderr)


def register(base, email):
    status, reg = call(base, "POST", "/auth/register", {"email": email, "password": "s3cret!pass-cluster"})
    assert status == 201, (status, reg)
    return reg["accessToken"], reg["user"]["id"]


def until(fn, limit=5.0, every=0.005):
    """Polls `fn` every `every` s until it is true; returns the seconds it took (raises after
    `limit`)."""
    start = time.monotonic()
    while not fn():
        if time.monotonic() - start > limit:
            raise AssertionError(f"not true within {limit} s")
        time.sleep(every)
    return time.monotonic() - start


def checks(c, out):
    r1, r2, r3 = (c.bases[n] for n in REPLICAS)
    internal = {"X-API-Key": INTERNAL_KEY}

    def health():
        for name, base in c.bases.items():
            status, h = call(base, "GET", "/admin/health", headers=internal)
            assert status == 200, (status, h)
            assert h["replica"] == name, h
            # Heartbeats are written at start-up, so all three are listed at once.
            assert h["cluster"]["redis"] == "up", h
            assert h["cluster"]["replicas"] == list(REPLICAS), h["cluster"]

    def tokens_and_logout():
        token, _ = register(r1, "tokens@example.com")
        for base in (r1, r2, r3):
            status, me = call(base, "GET", "/workspaces", token=token)
            assert status == 200, (base, status, me)
        status, _ = call(r2, "POST", "/auth/logout", token=token)
        assert status in (200, 204), status
        took = [until(lambda b=b: call(b, "GET", "/workspaces", token=token)[0] == 401)
                for b in (r1, r3)]
        assert max(took) < 2.0, took  # the token-version cache alone would keep it 5 s
        return f"revoked on r1/r3 after {max(took) * 1000:.0f} ms"

    def member_removal():
        owner, _ = register(r1, "owner@example.com")
        status, ws = call(r1, "POST", "/workspaces", {"name": "cluster"}, owner)
        assert status == 201, (status, ws)
        ws_id = ws["id"]
        member, _ = register(r2, "member@example.com")
        status, added = call(r1, "POST", f"/workspaces/{ws_id}/members",
                             {"email": "member@example.com", "role": "member"}, owner)
        assert status in (200, 201), (status, added)
        uid = added["userId"]
        hdr = {"X-Workspace-Id": ws_id}
        for base in (r2, r3):
            status, body = call(base, "GET", "/jobs", token=member, headers=hdr)
            assert status == 200, (status, body)
        status, body = call(r1, "DELETE", f"/workspaces/{ws_id}/members/{uid}", token=owner)
        assert status == 204, (status, body)
        took = [until(lambda b=b: call(b, "GET", "/jobs", token=member, headers=hdr)[0] == 403)
                for b in (r2, r3)]
        assert max(took) < 2.0, took
        return f"refused on r2/r3 after {max(took) * 1000:.0f} ms"

    def api_user(email):
        token, _ = register(r1, email)
        status, onboarded = call(r1, "POST", "/onboarding/setup", {}, token)
        assert status in (200, 201), (status, onboarded)
        return token, onboarded["workspace"]["id"]

    def chat(base, token, ws, text):
        return call(base, "POST", "/agent/chat", {"message": text, "agentId": "chad"}, token,
                    {"X-Workspace-Id": ws})

    def burst():
        token, ws = api_user("burst@example.com")
        codes = collections.Counter()
        for i in range(3 * USER_PER_MINUTE):
            status, body = chat(c.bases[REPLICAS[i % 3]], token, ws, f"hello {i}")
            assert status in (200, 429), (status, body)
            codes[status] += 1
        assert abs(codes[200] - USER_PER_MINUTE) <= 1, codes
        return f"{codes[200]} x 200, {codes[429]} x 429"

    def breaker():
        token, ws = api_user("breaker@example.com")
        for i in range(5):
            status, body = chat(c.bases[REPLICAS[i % 3]], token, ws, f"#fail {i}")
            assert status >= 500, (status, body)
        for name, base in c.bases.items():
            status, b = call(base, "GET", "/diagnostics/circuit-breakers", headers=internal)
            assert status == 200, (status, b)
            states = {x["provider"]: x["state"] for x in b["breakers"]}
            assert states.get("openai") == "open", (name, b)

    def jobs():
        token, ws = api_user("jobs@example.com")
        hdr = {"X-Workspace-Id": ws}
        for i in range(JOBS):
            status, job = call(c.bases[REPLICAS[i % 3]], "POST", "/jobs",
                               {"type": "http_request", "maxRetries": 0,
                                "payload": {"method": "GET", "url": f"http://{c.fake_addr}/hit/{i}"}},
                               token, hdr)
            assert status in (200, 201, 202), (status, job)

        def all_done():
            status, page = call(r1, "GET", "/jobs?status=pending&limit=1", token=token, headers=hdr)
            pending = page.get("total", len(page.get("items", []))) if status == 200 else 1
            status, page = call(r1, "GET", "/jobs?status=running&limit=1", token=token, headers=hdr)
            running = page.get("total", len(page.get("items", []))) if status == 200 else 1
            return pending == 0 and running == 0 and len(Fake.hits) >= JOBS

        until(all_done, 120, 0.2)
        time.sleep(1)
        twice = {k: n for k, n in Fake.hits.items() if n != 1}
        assert len(Fake.hits) == JOBS and not twice, (len(Fake.hits), twice)
        return f"{JOBS} jobs, each run once"

    def streams():
        token, ws = api_user("streams@example.com")
        done = {}

        def stream():
            data = json.dumps({"message": "#slow count", "agentId": "chad"}).encode()
            req = urllib.request.Request(f"{r1}/agent/chat/stream", data=data, method="POST")
            req.add_header("Content-Type", "application/json")
            req.add_header("Authorization", f"Bearer {token}")
            req.add_header("X-Workspace-Id", ws)
            with urllib.request.urlopen(req, timeout=60) as r:
                done["status"], done["body"] = r.status, r.read().decode(errors="replace")

        reader = threading.Thread(target=stream)
        reader.start()

        def cluster_view(base):
            status, h = call(base, "GET", "/admin/health", headers=internal)
            assert status == 200, (status, h)
            return h

        try:
            took = until(lambda: cluster_view(r2)["cluster"]["openStreams"] == 1, 4, 0.02)
            h2, h3 = cluster_view(r2), cluster_view(r3)
            assert h2["openStreams"] == 0 and h3["cluster"]["openStreams"] == 1, (h2, h3)
            assert h3["cluster"]["busyAgents"] == 1, h3
        finally:
            reader.join(30)
        assert done.get("status") == 200 and "event: done" in done.get("body", ""), done
        until(lambda: cluster_view(r2)["cluster"]["openStreams"] == 0, 4, 0.02)
        return f"seen on r2 {took * 1000:.0f} ms after it opened on r1"

    def webhooks():
        token, ws = api_user("hooks@example.com")
        status, hook = call(r1, "POST", "/webhooks",
                            {"url": f"http://{c.fake_addr}/hook", "events": ["webhook.test"]}, token,
                            {"X-Workspace-Id": ws})
        assert status == 201, (status, hook)
        ids = set()
        for i in range(WEBHOOK_DELIVERIES):
            status, d = call(c.bases[REPLICAS[i % 3]], "POST", f"/webhooks/{hook['id']}/test", {}, token)
            assert status == 202, (status, d)
            ids.add(d["deliveryId"])
        assert len(ids) == WEBHOOK_DELIVERIES, len(ids)

        def rows():
            status, page = call(r2, "GET", f"/webhooks/{hook['id']}/deliveries?limit=100", token=token)
            assert status == 200, (status, page)
            return {d["id"]: d for d in page["items"]}

        until(lambda: all(d["status"] == "delivered" for d in rows().values()), 60, 0.2)
        time.sleep(1)  # anything sent twice would arrive now
        final = rows()
        assert set(final) == ids, (len(final), len(ids))
        with Fake.lock:
            seen = dict(Fake.hook_attempts)
        assert set(seen) == ids, (len(seen), len(ids))
        wrong = {i: (seen[i], d["attempts"]) for i, d in final.items() if seen[i] != d["attempts"]}
        assert not wrong, wrong
        retried = sum(1 for n in seen.values() if n == 2)
        assert retried == WEBHOOK_DELIVERIES // 5 and max(seen.values()) == 2, seen
        return (f"{WEBHOOK_DELIVERIES} deliveries, {sum(seen.values())} attempts "
                f"({retried} retried once), each attempt received once")

    def monitors():
        token, ws = api_user("monitors@example.com")
        hdr = {"X-Workspace-Id": ws}
        ids = []
        for i in range(MONITORS):
            status, m = call(c.bases[REPLICAS[i % 3]], "POST", "/heartbeat",
                             {"name": f"m{i}", "type": "http", "url": f"http://{c.fake_addr}/mon/{i}",
                              "intervalMinutes": 5}, token, hdr)
            assert status == 201, (status, m)
            ids.append(m["id"])

        def runs(mid):
            status, page = call(r3, "GET", f"/heartbeat/{mid}/runs?limit=10", token=token, headers=hdr)
            assert status == 200, (status, page)
            return page["items"]

        def round_done(n):
            with Fake.lock:
                hits = sum(Fake.monitor_hits.values())
            return hits >= n * MONITORS and all(len(runs(m)) >= n for m in ids)

        for n in (1, 2):
            if n == 2:
                # Enabling a disabled monitor makes it due at once: a second run each.
                for i, mid in enumerate(ids):
                    for enabled, base in ((False, c.bases[REPLICAS[i % 3]]),
                                          (True, c.bases[REPLICAS[(i + 1) % 3]])):
                        status, body = call(base, "PATCH", f"/heartbeat/{mid}", {"enabled": enabled},
                                            token, hdr)
                        assert status == 200, (status, body)
            until(lambda n=n: round_done(n), 30, 0.2)
            time.sleep(1)
            with Fake.lock:
                hits = dict(Fake.monitor_hits)
            assert hits == {str(i): n for i in range(MONITORS)}, (n, hits)
            counts = [len(runs(m)) for m in ids]
            assert counts == [n] * MONITORS, (n, counts)
            assert all(r["status"] == "ok" for m in ids for r in runs(m))
        return f"{MONITORS} monitors x 2 rounds, each run recorded and received once"

    def sigkill():
        token, ws = api_user("sigkill@example.com")
        hdr = {"X-Workspace-Id": ws}
        jobs = []
        for i in range(SLOW_JOBS):
            status, job = call(c.bases[REPLICAS[i % 3]], "POST", "/jobs",
                               {"type": "http_request", "maxRetries": 1,
                                "timeoutSeconds": SLOW_JOB_TIMEOUT_S,
                                "payload": {"method": "GET", "url": f"http://{c.fake_addr}/slow/{i}"}},
                               token, hdr)
            assert status in (200, 201, 202), (status, job)
            jobs.append(job["id"])
        # Every first attempt is held, so each replica fills its 4 slots: r3 holds 4 leases.
        until(lambda: len(Fake.slow) >= SLOW_JOBS, SLOW_JOB_TIMEOUT_S - 2, 0.02)
        c.procs["r3"].kill()
        c.procs["r3"].wait()
        killed_at = time.monotonic()
        Fake.release.set()

        def job(jid):
            status, j = call(r1, "GET", f"/jobs/{jid}", token=token, headers=hdr)
            assert status == 200, (status, j)
            return j

        until(lambda: all(job(j)["status"] != "running" for j in jobs),
              SLOW_JOB_TIMEOUT_S + LEASE_MARGIN_S + 30, 1.0)
        time.sleep(1)
        final = [job(j) for j in jobs]
        assert all(j["status"] == "completed" for j in final), [(j["id"], j["status"]) for j in final]
        with Fake.lock:
            slow = list(Fake.slow)
        by_key = collections.defaultdict(list)
        for key, attempt, at in slow:
            by_key[key].append((attempt, at))
        assert set(by_key) == set(jobs), (sorted(by_key), jobs)
        reclaimed = {k: v for k, v in by_key.items() if len(v) > 1}
        assert len(reclaimed) == JOB_CONCURRENCY, {k: len(v) for k, v in by_key.items()}
        first = min(at for _, _, at in slow)
        for key, attempts in reclaimed.items():
            assert [a for a, _ in attempts] == [f"{key}:1", f"{key}:2"], attempts
            # Not before the lease of the first attempt (timeout + 60 s from its claim) ran out.
            assert attempts[1][1] - first >= SLOW_JOB_TIMEOUT_S + LEASE_MARGIN_S - 1, attempts
        attempts = {j["id"]: j["attempts"] for j in final}
        assert all(attempts[k] == len(v) for k, v in by_key.items()), attempts
        waited = max(v[1][1] for v in reclaimed.values()) - killed_at
        return (f"{JOB_CONCURRENCY} of r3's jobs re-sent under the same key {waited:.0f} s after the "
                f"kill; {SLOW_JOBS} jobs completed, each once in effect")

    for name, fn in [
        ("every replica sees the three replicas (/admin/health)", health),
        ("a token from r1 works on r2/r3; logout on r2 revokes it on r1/r3", tokens_and_logout),
        ("a member removed through r1 is refused on r2 and r3", member_removal),
        (f"a burst of {3 * USER_PER_MINUTE} over 3 replicas gets {USER_PER_MINUTE} x 200 (+-1)", burst),
        ("a stream open on r1 is counted by r2's and r3's cluster view", streams),
        ("5 failures over the replicas open the breaker on all three", breaker),
        (f"{JOBS} jobs over 3 replicas each run exactly once", jobs),
        (f"{WEBHOOK_DELIVERIES} webhook deliveries over 3 replicas: each attempt sent once", webhooks),
        (f"{MONITORS} monitors over 3 replicas: each run happens once", monitors),
        ("r3 SIGKILLed holding leased jobs: r1/r2 finish them after the lease, once in effect", sigkill),
    ]:
        out.run(name, fn)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", type=pathlib.Path, default=pathlib.Path("target/release"))
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379")
    args = parser.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix="astra-cluster-"))
    cluster = Cluster(args, work)
    out = Checks()
    try:
        cluster.create_db()
        for name in REPLICAS:
            cluster.start(name)
        cluster.wait_ready()
        checks(cluster, out)
    except Exception as e:  # noqa: BLE001 - a setup failure is one failed check
        out._failed("cluster setup", e)
    finally:
        if out.failed:
            cluster.tail_logs()
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(out.closing("cluster"))


if __name__ == "__main__":
    main()
