# latchkey: runs the TypeScript sources directly through tsx; there is no build step.
FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080 HTTP1_PORT=8081 GRPC_PORT=50051 METRICS_PORT=9464
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY tsconfig.json ./
COPY gen ./gen
COPY src ./src
USER node
EXPOSE 8080 8081 50051 9464
# node runs as PID 1 with no wrapper process, so SIGTERM reaches latchkey's graceful shutdown directly.
CMD ["node", "--import", "tsx", "src/main.ts"]
