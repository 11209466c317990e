# One meeting per container: `docker run --cap-add SYS_NICE -e MEETBOT_JOB='{"meeting_url": ...}' meetbot`
# The install steps are scripts/setup.sh, the same script `make test` runs in CI.
FROM debian:bookworm-slim

ENV DEBIAN_FRONTEND=noninteractive PYTHONUNBUFFERED=1 MEETBOT_LOG_JSON=true \
    MEETBOT_MODELS_DIR=/app/models
WORKDIR /app
COPY pyproject.toml README.md ./
COPY scripts ./scripts
COPY core ./core
COPY media ./media
COPY storage ./storage
COPY status ./status
COPY platforms ./platforms
COPY callbacks ./callbacks
COPY transcription ./transcription
COPY indexes ./indexes
COPY bot ./bot
COPY server ./server
COPY cli ./cli
COPY simulator ./simulator
RUN scripts/setup.sh --no-dev --venv /app/.venv && rm -rf /var/lib/apt/lists/* /root/.cache
ENV PATH=/app/.venv/bin:$PATH

# Chromium wants a large /dev/shm: run with --shm-size=1g (it also gets --disable-dev-shm-usage).
STOPSIGNAL SIGTERM
ENTRYPOINT ["meetbot"]
CMD ["run"]
