# syntax=docker/dockerfile:1
# Gantry in a container: `docker compose up` (see docker-compose.yml).
# Build stage: the cargo registry and target dir are cache mounts, so a rebuild after a
# source change recompiles only what changed.
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends cmake && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p gantry && cp target/release/gantry /gantry

# Runtime: slim Debian, a non-root user, and only the capability to bind ports below 1024.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl libcap2-bin \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /gantry /usr/local/bin/gantry
RUN setcap cap_net_bind_service=+ep /usr/local/bin/gantry \
    && apt-get purge -y libcap2-bin && apt-get autoremove -y \
    && useradd --system --uid 10001 --home-dir /var/lib/gantry --create-home --shell /usr/sbin/nologin gantry \
    && chmod 0700 /var/lib/gantry
COPY --chown=gantry:gantry conf-samples/quickstart /data
USER gantry
# The upgrade socket and the last good config.
ENV GANTRY_DATA_DIR=/var/lib/gantry
# Gateway HTTP, HTTPS, console (admin API), metrics, health.
EXPOSE 80 443 8080 15020 15021
HEALTHCHECK --interval=5s --timeout=3s CMD curl -fsS http://127.0.0.1:15021/healthz/ready || exit 1
ENTRYPOINT ["gantry"]
# The admin API listens on every address of the container so its published port works.
CMD ["serve", "--config", "/data", "--console-bind", "0.0.0.0"]
