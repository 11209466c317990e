"""moto's S3 server: obstore puts and gets as the server side will, presigned GETs work over HTTP."""

from __future__ import annotations

import secrets
from datetime import timedelta

import httpx
import obstore
import pytest

from tests.support.s3 import MotoS3

pytestmark = pytest.mark.media


async def test_put_get_and_presign_with_obstore(s3_server: MotoS3) -> None:
    assert s3_server.endpoint_url.startswith("http://127.0.0.1:")
    store = s3_server.obstore()
    key = f"rtstreams/{secrets.token_hex(4)}/seg_00001.ts"
    data = secrets.token_bytes(4096)
    await obstore.put_async(store, key, data)

    got = await obstore.get_async(store, key)
    assert bytes(await got.bytes_async()) == data
    assert s3_server.get(key) == data  # the same object seen by boto3
    assert key in s3_server.keys("rtstreams/")

    url = obstore.sign(store, "GET", key, timedelta(minutes=5))
    assert url.startswith(f"{s3_server.endpoint_url}/{s3_server.bucket}/") and "X-Amz-Signature=" in url
    async with httpx.AsyncClient() as client:
        resp = await client.get(url)
        assert resp.status_code == 200 and resp.content == data
        missing = await client.get(obstore.sign(store, "GET", key + ".nope", timedelta(minutes=5)))
        assert missing.status_code == 404


def test_presigned_by_boto3_and_a_fresh_bucket(s3_server: MotoS3) -> None:
    bucket = s3_server.create_bucket()
    s3_server.put("a/b.txt", b"hello", bucket=bucket)
    url = s3_server.client().generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "a/b.txt"}, ExpiresIn=60)
    resp = httpx.get(url)
    assert resp.status_code == 200 and resp.content == b"hello"
    assert s3_server.keys(bucket=bucket) == ["a/b.txt"]
    assert set(s3_server.env()) >= {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
