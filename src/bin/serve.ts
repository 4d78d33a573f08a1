import { randomBytes } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { WorkspaceService } from "../../gen/latchkey/v1/workspace_pb.js";
import { loadConfig } from "../config.js";
import { createLogger } from "../observability/log.js";
import { startServer } from "../app/server.js";
import { MemoryStore } from "../store/memory.js";
import { MongoStore } from "../store/mongodb.js";
import type { Store } from "../store/store.js";

async function main() {
  const config = loadConfig();
  const log = createLogger(config.logLevel);

  let store: Store;
  if (config.mongodbUri) {
    store = await MongoStore.connect(config.mongodbUri, config.mongodbDatabase);
  } else {
    if (!config.inMemoryStoreAllowed) {
      throw new Error(
        "MONGODB_URI is not set and NODE_ENV is production: set MONGODB_URI, or ALLOW_IN_MEMORY_STORE=true to run on a store that forgets every key on restart",
      );
    }
    store = new MemoryStore();
    log.warn("MONGODB_URI is not set: using the embedded in-memory store. Nothing will persist across restarts.");
  }
  log.info("store ready", { store: store.description });
  // A development run without ADMIN_TOKEN gets one of its own, logged with the workspace it made.
  const generatedAdminToken = config.developmentWorkspace && !config.adminToken ? randomBytes(32).toString("hex") : undefined;
  const adminToken = config.adminToken ?? generatedAdminToken;
  if (!adminToken) log.warn("ADMIN_TOKEN is not set: CreateWorkspace is refused, so no new workspace can be made.");

  const server = await startServer({
    ...config,
    adminToken,
    http1Port: config.http1Port || undefined,
    grpcPort: config.grpcPort || undefined,
    metricsPort: config.metricsPort || undefined,
    processMetrics: true,
    store,
    log,
  });
  // Installed before "listening" is logged, so whoever waits for that line can stop the service at once.
  let stopping = false;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, async () => {
      if (stopping) return;
      stopping = true;
      log.info("shutting down", { signal });
      await server.close();
      await store.close();
      log.info("stopped");
      process.exit(0);
    });
  }
  if (config.developmentWorkspace) {
    const workspaces = createClient(WorkspaceService, server.localTransport);
    const created = await workspaces.createWorkspace(
      { workspace: { name: "development" }, rootKeyName: "development" },
      { headers: { authorization: `Bearer ${adminToken}` } },
    );
    log.warn("development workspace made on the in-memory store (never with NODE_ENV=production): its root key holds every permission", {
      workspaceId: created.workspace!.id,
      rootKey: created.rootKeySecret,
      ...(generatedAdminToken ? { adminToken: generatedAdminToken } : {}),
    });
  }
  log.info("listening", {
    host: config.host,
    port: server.port,
    protocols: config.tlsCertFile ? "gRPC, gRPC-Web, Connect over TLS (HTTP/2 and HTTP/1.1)" : "gRPC, gRPC-Web, Connect over cleartext HTTP/2",
    http1Port: server.http1Port ?? "off",
    grpcPort: server.grpcPort ?? "off",
    metricsPort: server.metricsPort ?? "off",
    console: config.consoleEnabled ? "/console/ on HTTP1_PORT (and on PORT with TLS)" : "off",
    metricsHost: config.metricsHost,
    corsAllowedOrigins: config.corsAllowedOrigins.length ? config.corsAllowedOrigins : "none: no browser origin may call",
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`latchkey failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
