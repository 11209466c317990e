"""One Kubernetes Job per meeting (`meetbot serve` with MEETBOT_LAUNCHER=kubernetes).

The manifest has the shape of deploy/k8s/meeting-job.yaml (a test keeps the two in step); the
pod runs the image's bot with the launchers' common environment (the job in MEETBOT_JOB, the
shared store to report to). The pod's bot renews its own heartbeat, so the lost-bot reaper is
right in this mode too.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from core.job import Job
from core.outcomes import Outcome
from core.settings import Settings
from server.launchers.base import bot_env
from server.launchers.recovery import fail_meeting
from server.metrics import Metrics
from status import StatusStore

LABELS = {"app.kubernetes.io/name": "meetbot", "app.kubernetes.io/component": "bot"}


def job_manifest(job: Job, *, image: str, extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    """The batch/v1 Job that records ``job`` in its own pod."""
    env: list[dict[str, Any]] = [
        {"name": "MEETBOT_JOB", "value": job.model_dump_json()},
        {"name": "MEETBOT_LOG_JSON", "value": "true"},
        {"name": "MEETBOT_LAUNCHED_BY", "value": "kubernetes"},
        {"name": "MEETBOT_DATA_DIR", "value": "/data"},
        {"name": "MEETBOT_WEBHOOK_SECRET", "valueFrom": {"secretKeyRef": {
            "name": "meetbot", "key": "webhook-secret", "optional": True}}},
    ]
    env += [{"name": k, "value": v} for k, v in sorted((extra_env or {}).items())]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": f"meetbot-{job.meeting_id}",
                     "labels": {**LABELS, "meetbot/meeting-id": job.meeting_id}},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": int(job.max_duration) + 1800,
            "ttlSecondsAfterFinished": 3600,
            "template": {
                "metadata": {"labels": LABELS},
                "spec": {
                    "restartPolicy": "Never",
                    "terminationGracePeriodSeconds": 120,
                    "containers": [{
                        "name": "bot", "image": image, "args": ["run"], "env": env,
                        # SCHED_RR for the sound's threads (bot/audio_threads.py).
                        "securityContext": {"capabilities": {"add": ["SYS_NICE"]}},
                        "resources": {"requests": {"cpu": "1", "memory": "1536Mi"},
                                      "limits": {"memory": "3Gi"}},
                        "volumeMounts": [{"name": "dshm", "mountPath": "/dev/shm"},
                                         {"name": "data", "mountPath": "/data"}],
                    }],
                    "volumes": [{"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}},
                                {"name": "data", "emptyDir": {}}],
                },
            },
        },
    }


class KubernetesLauncher:
    """What `meetbot serve` hands jobs to with MEETBOT_LAUNCHER=kubernetes: one Job per meeting.

    The pods report to the shared Redis status store like `meetbot worker` bots; leaving deletes
    the Job, which sends its pod SIGTERM, the bot's graceful stop.
    """

    def __init__(self, settings: Settings, store: StatusStore, *, public_url: str | None = None,
                 api: KubeApi | None = None) -> None:
        self.settings, self.store, self.public_url = settings, store, public_url
        # Bots run in their pods: their figures come with their heartbeats in the status store.
        self.metrics = Metrics(bots=dict, queued=lambda: 0, runtime_dir=settings.runtime_dir,
                               store=store, launcher="kubernetes")
        self.api = api or ClusterApi()
        self._tasks: set[asyncio.Task[None]] = set()

    def manifest(self, job: Job) -> dict[str, Any]:
        env = bot_env(job, self.settings, public_url=self.public_url, launched_by="kubernetes")
        for own in ("MEETBOT_JOB", "MEETBOT_LAUNCHED_BY"):  # the manifest carries them itself
            env.pop(own)
        return job_manifest(job, image=self.settings.kube_image, extra_env=env)

    async def start(self) -> None:
        """Nothing to pick up: a Job, once created, runs by itself."""

    async def exposition(self) -> bytes:
        await self.metrics.refresh()
        return self.metrics.render()

    async def aclose(self) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)

    def submit(self, job: Job) -> None:
        task = asyncio.create_task(self._submit(job), name=f"kube-{job.meeting_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _submit(self, job: Job) -> None:
        try:
            await self.api.create_job(self.manifest(job), namespace=self.settings.kube_namespace)
        except Exception as exc:
            await fail_meeting(self.store, self.settings, job, Outcome.INTERNAL_ERROR,
                               f"the Kubernetes Job could not be created: {exc}")

    async def leave(self, meeting_id: str) -> bool:
        return await self.api.delete_job(f"meetbot-{meeting_id}", namespace=self.settings.kube_namespace)


class KubeApi(Protocol):
    async def create_job(self, manifest: dict[str, Any], *, namespace: str) -> str: ...

    async def delete_job(self, name: str, *, namespace: str) -> bool: ...


class ClusterApi:
    """The real cluster through the kubernetes client (in-cluster config, else ~/.kube/config)."""

    def _batch(self) -> Any:
        from kubernetes import client, config

        try:
            config.load_incluster_config()
        except config.ConfigException:
            config.load_kube_config()
        return client.BatchV1Api()

    async def create_job(self, manifest: dict[str, Any], *, namespace: str) -> str:
        created = await asyncio.to_thread(
            lambda: self._batch().create_namespaced_job(namespace=namespace, body=manifest))
        return str(created.metadata.name)

    async def delete_job(self, name: str, *, namespace: str) -> bool:
        from kubernetes.client.exceptions import ApiException

        try:
            await asyncio.to_thread(lambda: self._batch().delete_namespaced_job(
                name, namespace, propagation_policy="Foreground", grace_period_seconds=120))
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True
