#!/usr/bin/env python3
"""Verifies captured Astra deliveries with the `standardwebhooks` PyPI package.

Usage: standardwebhooks_verify.py <dir-or-file> ...

Each JSON file (written by `tests/api/webhooks/standard.rs` when ASTRA_SW_CAPTURE is set) holds
a list of {name, secret, payload, headers, valid}: the library must accept the (payload, headers)
pair under `secret` exactly when `valid` is true. Exits non-zero on any mismatch or when a test's
capture is missing.
"""

import json
import pathlib
import sys

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


# One capture per test of tests/api/webhooks/standard.rs; a missing one means a test was skipped.
REQUIRED = {"webhook", "rotation", "expired", "reply"}


def files(args):
    for arg in args:
        path = pathlib.Path(arg)
        yield from sorted(path.glob("*.json")) if path.is_dir() else [path]


def check(case):
    try:
        Webhook(case["secret"]).verify(case["payload"], case["headers"])
        accepted = True
    except WebhookVerificationError:
        accepted = False
    return accepted == case["valid"], accepted


def main(args):
    checked, failures, seen = 0, 0, set()
    for path in files(args):
        for case in json.loads(path.read_text()):
            ok, accepted = check(case)
            checked += 1
            seen.add(case["name"])
            verdict = "accepted" if accepted else "rejected"
            print(f"{'ok  ' if ok else 'FAIL'} {path.name} {case['name']}: {verdict}")
            failures += 0 if ok else 1
    missing = sorted(REQUIRED - seen)
    print(f"standardwebhooks: {checked} checked, {failures} failed, missing: {missing or 'none'}")
    return 1 if failures or missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["."]))
