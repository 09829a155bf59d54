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
import pathlib
import sys

import openai
from openai import OpenAI

from harness import call, default_bin_dir, run_against_gateway

USER_PER_MINUTE = 12


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
    parser.add_argument("--bin-dir", type=pathlib.Path, default=default_bin_dir())
    args = parser.parse_args()
    print(f"openai package {openai.__version__}; binaries from {args.bin_dir}", flush=True)
    env = {
        "JWT_SECRET": "openai-sdk-test-secret-0123456789",
        "ASTRA_LIMITS_USER_PER_MINUTE": str(USER_PER_MINUTE),
        "ASTRA_OPENAI_PASSTHROUGH_MODELS": "true",
    }

    def body(base, _work, checks):
        jwt, key = setup(base)
        sdk_checks(base, jwt, key, checks)

    return run_against_gateway("openai-sdk", args.bin_dir, env, body)

if __name__ == "__main__":
    sys.exit(main())
