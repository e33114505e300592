# syntax=docker/dockerfile:1
# pricestream-analytics: build with
#   docker build -f docker/analytics.Dockerfile -t pricestream-analytics:0.1.0 .
# and the image for clusters without GPUs (no CUDA libraries; the model trains on the CPU) with
#   docker build -f docker/analytics.Dockerfile --target runtime-cpu -t pricestream-analytics-cpu:0.1.0 .
# from the repository root (the build context must be the whole workspace). scripts/images
# builds and smoke-tests all images with buildah and podman.

# The bases are named by tag, not pinned by digest: this project's build machines cannot reach
# the public registry to read the digests (scripts/images makes stand-ins of the same names
# from Debian packages). Where you build, pin each FROM with the digest your registry reports
# (`docker buildx imagetools inspect IMAGE`), e.g. rust:1.89-bookworm@sha256:<digest>.
ARG RUST_VERSION=1.89
# CUDA 12.8 matches cudarc's `cuda-12080` feature in Cargo.toml. Ubuntu 24.04's glibc
# (2.39) is newer than the builder's (Debian bookworm, 2.36), so the binary runs there.
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-runtime-ubuntu24.04

# --- Build. cudarc loads libcuda and NVRTC at run time (dynamic-loading), so the
# builder needs no CUDA toolkit.
FROM rust:${RUST_VERSION}-bookworm AS builder
WORKDIR /src
COPY . .
# The commit, for pricestream_build_info{git_sha} (the context has no .git):
# --build-arg PRICESTREAM_GIT_SHA=$(git rev-parse HEAD).
ARG PRICESTREAM_GIT_SHA=""
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p pricestream-analytics \
    && install -D -s -m 0755 target/release/pricestream-analytics /out/pricestream-analytics

# --- Runtime without CUDA, for CPU-only clusters (`--target runtime-cpu`): Debian slim, the
# same binary (it finds no GPU driver and trains on the CPU), the same unprivileged user.
FROM debian:bookworm-slim AS runtime-cpu
# Unpinned on purpose: bookworm security updates of the CA bundle should be picked up.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 pricestream \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin pricestream
COPY --from=builder /out/pricestream-analytics /usr/local/bin/pricestream-analytics
USER 10001:10001
RUN ["/usr/local/bin/pricestream-analytics", "--version"]
EXPOSE 9898 2101
ENTRYPOINT ["/usr/local/bin/pricestream-analytics"]
CMD ["--help"]
LABEL org.opencontainers.image.title="pricestream-analytics-cpu" \
      org.opencontainers.image.description="pricestream-analytics for clusters without GPUs: the feature mart and the model on the CPU." \
      org.opencontainers.image.licenses="Apache-2.0"

# --- Runtime (the default target): the CUDA runtime image (NVRTC and the CUDA libraries; libcuda itself is
# mounted from the node's driver by the NVIDIA container toolkit), as an unprivileged
# user whose numeric id the Helm chart runs it as.
FROM ${CUDA_IMAGE} AS runtime
# Unpinned on purpose: Ubuntu security updates of the CA bundle should be picked up.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 pricestream \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin pricestream
COPY --from=builder /out/pricestream-analytics /usr/local/bin/pricestream-analytics
USER 10001:10001
# Smoke test: the binary starts and its shared libraries resolve.
RUN ["/usr/local/bin/pricestream-analytics", "--version"]
# 9898: /metrics, /healthz, /readyz; 2101: timely peers.
EXPOSE 9898 2101
ENTRYPOINT ["/usr/local/bin/pricestream-analytics"]
CMD ["--help"]
LABEL org.opencontainers.image.title="pricestream-analytics" \
      org.opencontainers.image.description="Keeps pricestream's feature mart up to date with a timely/differential dataflow fed from Kafka." \
      org.opencontainers.image.licenses="Apache-2.0"
