# syntax=docker/dockerfile:1
# galileo's container image — docs/operations.md#container.
#
#   docker build -t galileo .
#   docker run --rm -v galileo-state:/var/lib/galileo -p 127.0.0.1:18090:18090 galileo
#   docker compose -f deploy/compose.yaml up -d     # with Prometheus and Grafana
#
# As shipped it runs against the simulated world (deploy/container/galileo.toml). The build is
# the README's `make build` (pinned dependencies from constraints.txt, the Cython core): there
# is no second way to install galileo. Both stages use the same base image, because the venv
# made by `make build` points at that image's python3.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: the venv, the pinned dependencies and the compiled core --------------------------
FROM ${PYTHON_IMAGE} AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev make \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/galileo
COPY Makefile constraints.txt pyproject.toml setup.py README.md ./
COPY galileo ./galileo
RUN make build \
    && .venv/bin/python -c "import galileo; assert galileo.fast_backend() == 'cython', galileo.fast_backend()"

# --- runtime: no compiler, a non-root user, state on a volume --------------------------------
FROM ${PYTHON_IMAGE}
# tini: PID 1 that forwards SIGTERM to galileo alone (galileo stops its Jupiter child itself,
# after the drain) and reaps orphans.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --user-group --uid 10001 --home-dir /var/lib/galileo --no-create-home \
       --shell /usr/sbin/nologin galileo \
    && install -d -m 0700 -o galileo -g galileo /var/lib/galileo
# The same path as in the build stage: the editable install and the venv refer to it.
COPY --from=build /opt/galileo /opt/galileo
COPY deploy/container/galileo.toml /etc/galileo/galileo.toml
ENV PATH=/opt/galileo/.venv/bin:$PATH \
    GALILEO_CONFIG=/etc/galileo/galileo.toml \
    XDG_CACHE_HOME=/var/lib/galileo/cache \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
USER galileo
WORKDIR /var/lib/galileo
# Ledger, logs, Jupiter installs and logs, PAUSE/STOP: everything that must survive the
# container. `galileo pause|resume|stop` work through it (docker exec … python -m galileo pause).
VOLUME ["/var/lib/galileo"]
EXPOSE 18090
# /health: 200 once galileo is ready, 503 while starting or stopping. A real jupiter-swap-api
# needs minutes to load its markets (jupiter.process.startup_timeout_s = 300).
HEALTHCHECK --interval=15s --timeout=5s --start-period=6m --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('GALILEO_METRICS__PORT', '18090'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/health', timeout=4).status == 200 else 1)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["tini", "--", "python", "-m", "galileo"]
CMD ["run"]
