"""Kubernetes mode end to end: the pod's bot renews its own heartbeat, so a meeting that lasts
longer than the heartbeat TTL is never reaped as lost while it records."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any

import pytest

from core.lifecycle import Status
from core.settings import Settings
from server.launchers import reap_lost, record_of
from server.launchers.kubernetes import KubernetesLauncher
from status.redis import RedisStatusStore
from tests.conftest import meetbot_cmd, meetbot_env
from tests.e2e.bot_run import overrides

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("no_leftovers")]


class LocalPods:
    """Stands in for the cluster: each Job's pod is its container run as a local process, with the
    manifest's arguments and environment."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.pods: list[asyncio.subprocess.Process] = []

    async def create_job(self, manifest: dict[str, Any], *, namespace: str) -> str:
        container = manifest["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
        env.pop("MEETBOT_DATA_DIR")  # the pod's volume; the test's data dir instead
        proc = await asyncio.create_subprocess_exec(*meetbot_cmd(), *container["args"],
                                                    env={**self.env, **env})
        self.pods.append(proc)
        return str(manifest["metadata"]["name"])

    async def delete_job(self, name: str, *, namespace: str) -> bool:
        return False


async def test_a_meeting_longer_than_the_heartbeat_ttl_stays_processing(
        simulator: Any, redis_url: str, tmp_path: Path) -> None:
    letters = "abcdefghijklmnopqrstuvwxyz"
    code = "-".join("".join(secrets.choice(letters) for _ in range(n)) for n in (3, 4, 3))
    await simulator.add_scenario({
        "platform": "meet", "meeting_code": code, "participants": [{"name": "Alice"}],
        "lobby": {"mode": "open"}, "speech": [{"speaker": "Alice", "at": 1.0, "text": "Hello there."}],
        "end": {"kind": "host_ended", "at": 9.0}})
    ttl = 2.0
    settings = Settings(redis_url=redis_url, launcher="kubernetes", heartbeat_ttl=ttl,
                        heartbeat_interval=0.5, output_dir=tmp_path / "rec", data_dir=tmp_path / "data")
    env = meetbot_env(MEETBOT_HOST_OVERRIDES=overrides(simulator), MEETBOT_HEARTBEAT_TTL=str(ttl),
                      MEETBOT_HEARTBEAT_INTERVAL="0.5", MEETBOT_DATA_DIR=str(tmp_path / "data"))
    store = RedisStatusStore(redis_url)
    pods = LocalPods(env)
    launcher = KubernetesLauncher(settings, store, public_url="http://127.0.0.1:1", api=pods)
    from core.job import Job

    job = Job.parse({"meeting_url": f"https://meet.google.com/{code}",
                     "output_dir": str(tmp_path / "rec" / "m")})
    await store.create(record_of(job))
    launcher.submit(job)
    seen: list[Status] = []
    lost: list[str] = []
    try:
        async with asyncio.timeout(90):
            while True:
                lost += await reap_lost(store, settings)  # the server's reaper, as often as it runs
                record = await store.get(job.meeting_id)
                assert record is not None
                if not seen or seen[-1] is not record.status:
                    seen.append(record.status)
                if record.is_terminal:
                    break
                await asyncio.sleep(0.25)
        assert lost == []
        assert seen == [Status.INITIALIZING, Status.PROCESSING, Status.DONE], (seen, record.error)
        processing = next(m for m in record.phases if m.phase == "in_call_recording").at
        ended = next(m for m in record.phases if m.phase == "leaving").at
        assert ended - processing > 3 * ttl  # it outlived the TTL several times over
    finally:
        for pod in pods.pods:
            if pod.returncode is None:
                pod.terminate()
            await pod.wait()
        await launcher.aclose()
        await store.aclose()
