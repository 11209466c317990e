"""The Kubernetes Job a server would submit per meeting: valid batch/v1, same shape as deploy/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from core.job import Job
from server.launchers.kubernetes import job_manifest

pytestmark = pytest.mark.unit

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "meeting-job.yaml"


def _shape(obj: object) -> object:
    """Keys and list lengths, not values: what must not drift between the two manifests."""
    if isinstance(obj, dict):
        return {k: _shape(v) for k, v in obj.items() if k not in ("labels",)}
    if isinstance(obj, list):
        return [_shape(v) for v in obj]
    return type(obj).__name__


def test_manifest_carries_the_job_and_matches_the_deploy_file() -> None:
    job = Job.parse({"meeting_url": "https://meet.google.com/abc-defg-hij", "bot_name": "Bot",
                     "max_duration": 3600})
    m = job_manifest(job, image="registry.example/meetbot:1.0")
    pod = m["spec"]["template"]["spec"]
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert Job.parse(env["MEETBOT_JOB"]["value"]) == job
    assert m["spec"]["backoffLimit"] == 0 and pod["restartPolicy"] == "Never"
    assert m["spec"]["activeDeadlineSeconds"] > 3600
    deploy = yaml.safe_load(DEPLOY.read_text())
    assert _shape(m) == _shape(deploy)
    # The cluster's own model accepts it (what create_namespaced_job would send).
    api = client.ApiClient()
    model = api.deserialize(json.dumps(m), "V1Job", "application/json")
    assert model.spec.template.spec.containers[0].image == "registry.example/meetbot:1.0"
    assert api.sanitize_for_serialization(model)["spec"]["template"]["spec"]["volumes"][0]["emptyDir"] == \
        {"medium": "Memory", "sizeLimit": "1Gi"}


class FakeCluster:
    """Stands in for the Kubernetes API server, which this machine does not have."""

    def __init__(self, fail: bool = False) -> None:
        self.created: list[dict] = []
        self.deleted: list[str] = []
        self.fail = fail

    async def create_job(self, manifest: dict, *, namespace: str) -> str:
        if self.fail:
            raise RuntimeError("forbidden: jobs.batch is forbidden")
        self.created.append(manifest)
        return manifest["metadata"]["name"]

    async def delete_job(self, name: str, *, namespace: str) -> bool:
        self.deleted.append(name)
        return True


async def test_serve_submits_one_job_per_meeting_and_leave_deletes_it(tmp_path: Path) -> None:
    import asyncio

    from callbacks.receiver import CallbackReceiver
    from core.lifecycle import Status
    from core.settings import Settings
    from server.launchers.kubernetes import KubernetesLauncher
    from status.sqlite import SqliteStatusStore
    from status.store import MeetingRecord

    settings = Settings(redis_url="redis://redis:6379/0", kube_image="reg/meetbot:2", data_dir=tmp_path,
                        allow_private_urls="127.0.0.1/32")
    store = SqliteStatusStore(tmp_path / "s.db")
    for fail in (False, True):
        cluster = FakeCluster(fail=fail)
        bots = KubernetesLauncher(settings, store, public_url="http://api:8000", api=cluster)
        async with CallbackReceiver() as rx:
            job = Job.parse({"meeting_url": "https://meet.google.com/abc-defg-hij", "callback_url": rx.url,
                             "output_dir": str(tmp_path / "rec")})
            await store.create(MeetingRecord(meeting_id=job.meeting_id, video_id=job.video_id,
                                             meeting_url=job.meeting_url, bot_name=job.bot_name,
                                             callback_url=rx.url, output_dir=str(job.output_dir)))
            bots.submit(job)
            await asyncio.sleep(0.2)
            if not fail:
                [m] = cluster.created
                container = m["spec"]["template"]["spec"]["containers"][0]
                env = {e["name"]: e.get("value") for e in container["env"]}
                assert env["MEETBOT_REDIS_URL"] == "redis://redis:6379/0"
                assert env["MEETBOT_PUBLIC_URL"] == "http://api:8000"
                assert container["image"] == "reg/meetbot:2"
                assert await bots.leave(job.meeting_id) and cluster.deleted == [f"meetbot-{job.meeting_id}"]
            else:
                await rx.wait_for(1, timeout=10)
                record = await store.get(job.meeting_id)
                assert record is not None and record.status is Status.FAILED
                assert "forbidden" in (record.error or "")
                assert rx.received[0].json()["error_code"] == "internal_error"
