"""The S3 server fixture of the stream tests: a queue-mode meeting records into a bucket."""

from tests.support.fixtures import s3_server, streams_workdir  # noqa: F401 - fixtures
