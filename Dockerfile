# The Lookout image: one image for every role, chosen per container by LOOKOUT_ROLES.
# Dependencies come from package-lock.json (npm ci), including the pinned Deno binary
# and chDB's engine for the embedded mode.
FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
  && rm -rf /var/lib/apt/lists/* && useradd --system --home /app lookout
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY deno.json package.json main.ts ./
COPY domain ./domain
COPY commands ./commands
COPY projections ./projections
COPY read-models ./read-models
COPY adapters ./adapters
COPY web ./web
RUN mkdir -p /data && chown lookout /data && node_modules/.bin/deno cache main.ts
USER lookout
ENV LOOKOUT_DATA_DIR=/data PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["node_modules/.bin/deno", "run", "-A", "main.ts"]
