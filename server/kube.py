"""Launch one Kubernetes Job per meeting (`meetbot serve` with MEETBOT_LAUNCHER=kubernetes).

The manifest has the shape of deploy/k8s/meeting-job.yaml (a test keeps the two in step); the
pod runs the image's `meetbot run` with the job in MEETBOT_JOB.
"""

from __future__ import annotations

from typing import Any

from bot.job import Job

LABELS = {"app.kubernetes.io/name": "meetbot", "app.kubernetes.io/component": "bot"}


def job_manifest(job: Job, *, image: str, extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    """The batch/v1 Job that records ``job`` in its own pod."""
    env: list[dict[str, Any]] = [
        {"name": "MEETBOT_JOB", "value": job.model_dump_json()},
        {"name": "MEETBOT_LOG_JSON", "value": "true"},
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


async def submit(manifest: dict[str, Any], *, namespace: str) -> str:
    """Create the Job in the cluster (in-cluster config, else ~/.kube/config); returns its name."""
    import asyncio

    from kubernetes import client, config

    def _create() -> str:
        try:
            config.load_incluster_config()
        except config.ConfigException:
            config.load_kube_config()
        created = client.BatchV1Api().create_namespaced_job(namespace=namespace, body=manifest)
        return str(created.metadata.name)

    return await asyncio.to_thread(_create)
