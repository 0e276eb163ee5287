# Gantry in a container: `docker compose up` (see docker-compose.yml).
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends cmake && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p gantry && cp target/release/gantry /gantry

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl && rm -rf /var/lib/apt/lists/*
COPY --from=build /gantry /usr/local/bin/gantry
COPY conf-samples/quickstart /data
EXPOSE 80 443 8080
HEALTHCHECK --interval=5s --timeout=2s CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["gantry"]
# The admin API listens on every address of the container so its published port works.
CMD ["serve", "--config", "/data", "--console-bind", "0.0.0.0"]
