# latchkey: built with tsc in one stage, run as compiled JavaScript in the next, which holds only
# production dependencies (no TypeScript, no tsx).
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages ./packages
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY gen ./gen
COPY src ./src
# Builds the console too, into dist/packages/console/dist: served at /console when CONSOLE_ENABLED=true.
RUN npm run build

FROM node:22-bookworm-slim
WORKDIR /app
# Production refuses to start without MONGODB_URI (ALLOW_IN_MEMORY_STORE=true overrides, for trials).
# Metrics listen on every interface too, for Prometheus to scrape the container; publish no host
# port for them and let only Prometheus reach 9464 (deploy/kubernetes/network-policy.yaml).
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080 HTTP1_PORT=8081 GRPC_PORT=50051 METRICS_PORT=9464 METRICS_HOST=0.0.0.0
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
EXPOSE 8080 8081 50051 9464
# The service's own gRPC health check, over Connect JSON on HTTP1_PORT (cleartext; with TLS, give
# the container NODE_EXTRA_CA_CERTS for the certificate).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 CMD ["node", "dist/src/bin/healthcheck.js"]
# node runs as PID 1 with no wrapper process, so SIGTERM reaches latchkey's graceful shutdown directly.
CMD ["node", "dist/src/bin/serve.js"]
