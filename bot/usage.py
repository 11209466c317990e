"""CPU and memory of the bot's process tree, sampled with psutil while it records."""

from __future__ import annotations

import asyncio
import os

import psutil
from pydantic import BaseModel


class Usage(BaseModel):
    samples: int = 0
    cpu_percent_avg: float = 0.0
    """Per core: 200 = both cores of a 2-core machine busy."""
    cpu_percent_max: float = 0.0
    pss_mb_max: float = 0.0
    """Proportional set size summed over the tree: shared pages counted once, unlike RSS."""
    by_process: dict[str, float] = {}
    """Average CPU % per executable name."""


def _sample(root: int) -> dict[int, tuple[str, float, int]]:
    """pid -> (name, CPU seconds, PSS bytes) for ``root`` and every process below it."""
    out: dict[int, tuple[str, float, int]] = {}
    try:
        top = psutil.Process(root)
        procs = [top, *top.children(recursive=True)]
    except psutil.Error:
        return out
    for proc in procs:
        try:
            with proc.oneshot():
                cpu = proc.cpu_times()
                out[proc.pid] = (proc.name(), cpu.user + cpu.system, proc.memory_full_info().pss)
        except psutil.Error:  # gone, or not ours to read
            continue
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
        for pid, (name, seconds, _) in cur.items():
            before = prev.get(pid, (name, seconds, 0))[1]
            pct = (seconds - before) / dt * 100
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
