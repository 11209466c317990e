"""The Kubernetes Job a server would submit per meeting: valid batch/v1, same shape as deploy/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from bot.job import Job
from server.kube import job_manifest

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
