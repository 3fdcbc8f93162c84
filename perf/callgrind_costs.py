"""Instruction counts from a callgrind dump, by shared object and by function.

perf/compare --callgrind N runs each server under callgrind, zeroes the counters after a
warm-up, runs N handshakes and dumps: instruction counts then say what each part costs per
connection without the noise of a shared machine (issue #28 point 3). This module reads the
dump's own format (valgrind's docs, "Callgrind Format Specification"): `ob=`/`fn=` set the
object and function (names compressed as "(id) name", later "(id)"), a cost line is
"<position> <Ir>", and the cost line after `calls=` is the inclusive cost of that call, which
an exclusive sum skips.
"""
from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

_NAME = re.compile(r"\((\d+)\)(?: (.*))?$")


def exclusive_ir(path: Path) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    """Exclusive Ir per object and per (object, function)."""
    names: dict[tuple[str, str], str] = {}
    by_object: dict[str, int] = defaultdict(int)
    by_function: dict[tuple[str, str], int] = defaultdict(int)
    ob, fn = "?", "?"
    call_cost_next = False

    def resolve(kind: str, text: str) -> str:
        m = _NAME.match(text)
        if not m:
            return text
        if m.group(2):
            names[(kind, m.group(1))] = m.group(2)
        return names.get((kind, m.group(1)), m.group(1))

    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            key, eq, rest = line.partition("=")
            if eq and key in ("ob", "cob", "fn", "cfn", "fl", "fi", "fe", "cfi", "cfl"):
                kind = "ob" if key in ("ob", "cob") else "fn" if key in ("fn", "cfn") else "fl"
                name = resolve(kind, rest.strip())
                if key == "ob":
                    ob = name
                elif key == "fn":
                    fn = name
                continue
            if key == "calls" and eq:
                call_cost_next = True
                continue
            if line[:1].isdigit() or line[:1] in "+-*":
                if call_cost_next:
                    call_cost_next = False
                    continue
                parts = line.split()
                if len(parts) >= 2:
                    ir = int(parts[1])
                    by_object[ob] += ir
                    by_function[(ob, fn)] += ir
    return dict(by_object), dict(by_function)


def short_object(path: str) -> str:
    name = Path(path).name
    return re.sub(r"\.so(\.[\d.]+)?$", "", name)
