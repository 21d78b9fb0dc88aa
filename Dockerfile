# mentorbot in a container: a wheel built in one stage, installed alone in a slim one.
# Build: docker build -t mentorbot .    Run: see compose.yaml and docs/deployment.md.
# No secret is set here: tokens and passwords come from the environment when the container runs.

FROM python:3.11-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir build
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY storage ./storage
RUN python -m build --wheel --outdir /dist

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DATA_DIR=/data \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8000
COPY --from=build /dist/*.whl /tmp/
RUN pip install --no-cache-dir /tmp/*.whl && rm /tmp/*.whl \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin mentorbot \
    && mkdir -p /data && chown mentorbot:mentorbot /data
USER mentorbot
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
# python, not curl: the slim image has no curl, and /health answers 503 when the database is unreachable.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('HTTP_PORT', '8000') + '/health', timeout=4)"]
CMD ["mentorbot", "serve"]
