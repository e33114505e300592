# syntax=docker/dockerfile:1
# pricestream-extractor: build with
#   docker build -f docker/extractor.Dockerfile -t pricestream-extractor:0.1.0 .
# from the repository root (the build context must be the whole workspace).

# The bases are named by tag, not pinned by digest: this project's build machines cannot reach
# the public registry to read the digests (scripts/images makes stand-ins of the same names
# from Debian packages). Where you build, pin each FROM with the digest your registry reports
# (`docker buildx imagetools inspect IMAGE`), e.g. rust:1.89-bookworm@sha256:<digest>.
ARG RUST_VERSION=1.89

# --- Build: the workspace's Cargo.lock, release profile. librdkafka is compiled from
# source by rdkafka-sys (with its own configure), so the full toolchain image is used.
FROM rust:${RUST_VERSION}-bookworm AS builder
WORKDIR /src
COPY . .
# The commit, for pricestream_build_info{git_sha} (the context has no .git):
# --build-arg PRICESTREAM_GIT_SHA=$(git rev-parse HEAD).
ARG PRICESTREAM_GIT_SHA=""
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p pricestream-extractor \
    && install -D -s -m 0755 target/release/pricestream-extractor /out/pricestream-extractor

# --- Runtime: Debian slim with CA certificates (HTTPS to the market-data API), as an
# unprivileged user whose numeric id the Helm chart runs it as.
FROM debian:bookworm-slim AS runtime
# Unpinned on purpose: bookworm security updates of the CA bundle should be picked up.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 pricestream \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin pricestream
COPY --from=builder /out/pricestream-extractor /usr/local/bin/pricestream-extractor
USER 10001:10001
# Smoke test: the binary starts and its shared libraries resolve.
RUN ["/usr/local/bin/pricestream-extractor", "--version"]
EXPOSE 9899
ENTRYPOINT ["/usr/local/bin/pricestream-extractor"]
CMD ["--help"]
LABEL org.opencontainers.image.title="pricestream-extractor" \
      org.opencontainers.image.description="Reads daily OHLCV bars from data-lake sources and publishes them to Kafka and Cassandra." \
      org.opencontainers.image.licenses="Apache-2.0"
