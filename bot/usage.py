"""CPU and memory of the bot's process tree, sampled from /proc while it records."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from pydantic import BaseModel

_TICK = os.sysconf("SC_CLK_TCK")


class Usage(BaseModel):
    samples: int = 0
    cpu_percent_avg: float = 0.0
    """Per core: 200 = both cores of a 2-core machine busy."""
    cpu_percent_max: float = 0.0
    pss_mb_max: float = 0.0
    """Proportional set size summed over the tree: shared pages counted once, unlike RSS."""
    by_process: dict[str, float] = {}
    """Average CPU % per executable name."""


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _tree(root: int) -> list[int]:
    tree = _children()
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(tree.get(pid, []))
    return out


def _pss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _sample(root: int) -> dict[int, tuple[str, int, int]]:
    """pid -> (name, cpu ticks, PSS bytes)."""
    out = {}
    for pid in _tree(root):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])
        out[pid] = (name, ticks, _pss(pid))
    return out


async def sample_usage(usage: Usage, *, interval: float = 2.0, root: int | None = None) -> None:
    """Fill ``usage`` until cancelled."""
    root = root or os.getpid()
    loop = asyncio.get_running_loop()
    prev = await asyncio.to_thread(_sample, root)
    prev_t = loop.time()
    per_name: dict[str, float] = {}
    total_cpu = 0.0
    while True:
        await asyncio.sleep(interval)
        cur = await asyncio.to_thread(_sample, root)
        now = loop.time()
        dt = now - prev_t
        cpu = 0.0
        names: dict[str, float] = {}
        for pid, (name, ticks, _) in cur.items():
            before = prev.get(pid, (name, ticks, 0))[1]
            pct = (ticks - before) / _TICK / dt * 100
            cpu += pct
            names[name] = names.get(name, 0.0) + pct
        pss = sum(r for _, _, r in cur.values()) / 1e6
        usage.samples += 1
        total_cpu += cpu
        for name, pct in names.items():
            per_name[name] = per_name.get(name, 0.0) + pct
        usage.cpu_percent_avg = round(total_cpu / usage.samples, 1)
        usage.cpu_percent_max = round(max(usage.cpu_percent_max, cpu), 1)
        usage.pss_mb_max = round(max(usage.pss_mb_max, pss), 1)
        usage.by_process = {k: round(v / usage.samples, 1) for k, v in sorted(per_name.items())}
        prev, prev_t = cur, now
