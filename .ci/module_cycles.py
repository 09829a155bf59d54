#!/usr/bin/env python3
"""Prints the import cycles among the top-level modules of src/ (outside src/http/).

Lists the strongly connected components of the `crate::<module>` import graph and each
member's edges inside its component, so a back-arrow is easy to find. With `--check` (a stage
of .ci/run) it exits 1 when there is any cycle: features stay a graph without cycles (issue #10).
"""
import collections
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def imports():
    graph = collections.defaultdict(set)
    for root, _, files in os.walk(ROOT):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(root, name)
            top = os.path.relpath(path, ROOT).split(os.sep)[0].removesuffix(".rs")
            if top in ("http", "lib", "main"):
                continue
            text = open(path, encoding="utf-8").read()
            graph[top].update(re.findall(r"crate::([a-z_]+)", text))
            for block in re.findall(r"use crate::\{(.*?)\};", text, re.S):
                graph[top].update(re.findall(r"(?:^|[\s,{])([a-z_]+)(?:::|\s*[,}])", block))
            graph[top].discard(top)
    return graph


def components(graph):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10_000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def main():
    graph = imports()
    cycles = components(graph)
    if not cycles:
        print("module cycles: none")
        return 0
    for comp in cycles:
        print(f"module cycle of {len(comp)}: {', '.join(comp)}")
        for m in comp:
            print(f"  {m} -> {', '.join(sorted(x for x in graph[m] if x in comp))}")
    return 1 if "--check" in sys.argv[1:] else 0


if __name__ == "__main__":
    sys.exit(main())
