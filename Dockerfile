# syntax=docker/dockerfile:1
# poolgate: a multi-stage build. The build stage compiles the release binary; the
# runtime stage is Debian slim with only the shared libraries the binary links against,
# CA certificates (upstream providers over HTTPS), and a non-root user.

FROM rust:1-bookworm AS build
# C toolchain and headers: bundled SQLite and aws-lc (cc), the SAML engine's
# libxmlsec1/libxml2 bindings (pkg-config, libclang for bindgen).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      pkg-config clang libclang-dev make gcc libssl-dev libxml2-dev libxmlsec1-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Cache mounts keep the registry and the target folder between builds.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin poolgate \
 && cp target/release/poolgate /usr/local/bin/poolgate

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libxmlsec1-openssl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin poolgate \
 && mkdir -p /app/data /app/providers /app/certs \
 && chown poolgate:poolgate /app/data
COPY --from=build /usr/local/bin/poolgate /usr/local/bin/poolgate
WORKDIR /app
USER poolgate
ENV POOLGATE_LISTEN=0.0.0.0:8080 \
    POOLGATE_PROVIDERS_DIR=/app/providers \
    POOLGATE_CERTS_DIR=/app/certs
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/poolgate"]
CMD ["serve"]
