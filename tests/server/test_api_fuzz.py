"""The API from its own OpenAPI schema (schemathesis): generated requests to every operation never
get a 5xx, and every error comes in the envelope (``success`` false, ``message``, ``error_code``).

The server runs on this loop with a real socket and store; bots are played by the test (the API
hands jobs to the launcher, it does not run them). Sources of new streams must be public
addresses, so a generated stream never reaches anything here.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable

from tests.server.support import KEY, running_server

pytestmark = pytest.mark.unit

EXAMPLES = 6  # per operation (~230 cases; more found nothing more)
HEADERS = {"x-access-token": KEY}


def content_type(resp: Any) -> str:
    value = resp.headers.get("content-type") or ""
    return str(value[0] if isinstance(value, list) and value else value)


def fuzz(url: str) -> dict[str, Any]:
    """Run the generated cases against ``url``; the counts and the failures found."""
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    counts = {"operations": 0, "cases": 0, "failures": []}
    with requests.Session() as session:
        for result in schema.get_all_operations():
            op = result.ok()
            counts["operations"] += 1

            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            @given(case=op.as_strategy())
            def run(case: Any) -> None:
                counts["cases"] += 1
                resp = case.call(base_url=url, headers=HEADERS, session=session, timeout=10)
                where = f"{case.method} {case.formatted_path} -> {resp.status_code}"
                if resp.status_code >= 500:
                    counts["failures"].append(f"{where}: {resp.text[:200]}")
                elif resp.status_code >= 400 and not content_type(resp).startswith("text/html"):
                    # (The player pages answer people in HTML; everything else answers programs.)
                    try:
                        body = resp.json()
                    except ValueError:
                        counts["failures"].append(f"{where}: not JSON: {resp.text[:100]}")
                        return
                    if not (body.get("success") is False and body.get("message") and body.get("error_code")):
                        counts["failures"].append(f"{where}: outside the envelope: {json.dumps(body)[:200]}")

            try:
                run()
            except Unsatisfiable:
                pass
    return counts


async def test_generated_requests_get_no_5xx_and_errors_in_the_envelope(tmp_path: Path) -> None:
    async with running_server(tmp_path) as (url, _store, _bots):
        counts = await asyncio.to_thread(fuzz, url)
    print(f"schemathesis: {counts['operations']} operations, {counts['cases']} cases, "
          f"{len(counts['failures'])} failures")
    assert counts["operations"] >= 30 and counts["cases"] >= 30 * 4, counts
    assert not counts["failures"], "\n".join(sorted(set(counts["failures"]))[:20])
