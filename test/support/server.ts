import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { inject } from "vitest";
import { WorkspaceService } from "../../gen/latchkey/v1/workspace_pb.js";
import type { RandomSource } from "../../src/domain/base58.js";
import { createLogger } from "../../src/observability/log.js";
import { type RunningServer, startServer } from "../../src/app/server.js";
import type { ConnectionLimits } from "../../src/transport/connections.js";
import { MongoStore } from "../../src/store/mongodb.js";
import type { Store } from "../../src/store/store.js";
import { bearer, TEST_ADMIN_TOKEN, TEST_KEY_ENCRYPTION_KEYS } from "./auth.js";

export interface TestServer extends RunningServer {
  /** The HTTP/2 listener's base URL. */
  url: string;
  /** The HTTP/1.1 listener's base URL. */
  http1Url: string;
  /** The native gRPC (grpc-js) listener's base URL. */
  grpcUrl: string;
  /** Where Prometheus scrapes this server. */
  metricsUrl: string;
  store: MongoStore;
  mongoUri: string;
  databaseName: string;
  /** Every log line the server wrote. */
  logs: string[];
  /** The secret of a root key holding every permission, in this server's workspace. */
  rootKey: string;
  workspaceId: string;
  /** Sends the root key: for the interceptors of a client transport. */
  auth: Interceptor;
  stop(): Promise<void>;
}

/** A real server on loopback, over the test MongoDB, in a database of its own. */
export async function startTestServer(
  options: {
    maxRequestBytes?: number;
    wrapStore?: (store: Store) => Store;
    tls?: { certFile: string; keyFile: string };
    /** Share a database with another test server, as instances behind one load balancer do. */
    databaseName?: string;
    /** Use this workspace and root key (of a server sharing the database) instead of making a new one. */
    workspace?: { workspaceId: string; rootKey: string };
    random?: RandomSource;
    /** The server's clock, for tests that move time on. */
    now?: () => number;
    storeTimeoutMs?: number;
    storeCheckMs?: number;
    connectionLimits?: ConnectionLimits;
    corsAllowedOrigins?: string[];
    /** Serves the console built into this folder at /console. */
    consoleDir?: string;
  } = {},
): Promise<TestServer> {
  const mongoUri = inject("mongoUri");
  const databaseName = options.databaseName ?? `latchkey_wire_${randomUUID()}`;
  const store = await MongoStore.connect(mongoUri, databaseName);
  const logs: string[] = [];
  const server = await startServer({
    host: "127.0.0.1",
    port: 0,
    http1Port: 0,
    grpcPort: 0,
    metricsPort: 0,
    maxRequestBytes: options.maxRequestBytes ?? 1024 * 1024,
    corsAllowedOrigins: options.corsAllowedOrigins ?? ["https://app.example.com"],
    tlsCertFile: options.tls?.certFile,
    tlsKeyFile: options.tls?.keyFile,
    shutdownTimeoutMs: 5000,
    adminToken: TEST_ADMIN_TOKEN,
    keyEncryptionKeys: TEST_KEY_ENCRYPTION_KEYS,
    store: options.wrapStore ? options.wrapStore(store) : store,
    log: createLogger("info", (line) => logs.push(line)),
    random: options.random,
    now: options.now,
    storeTimeoutMs: options.storeTimeoutMs,
    storeCheckMs: options.storeCheckMs,
    connectionLimits: options.connectionLimits,
    consoleEnabled: options.consoleDir !== undefined,
    consoleDir: options.consoleDir,
  });
  const url = `http://127.0.0.1:${server.port}`;
  const http1Url = `${options.tls ? "https" : "http"}://127.0.0.1:${server.http1Port}`;
  const ca = options.tls ? readFileSync(options.tls.certFile) : undefined;
  const workspace = options.workspace ?? (await bootstrap(http1Url, ca));
  return {
    ...server,
    ...workspace,
    auth: bearer(workspace.rootKey),
    url,
    http1Url,
    grpcUrl: `http://127.0.0.1:${server.grpcPort}`,
    metricsUrl: `http://127.0.0.1:${server.metricsPort}/metrics`,
    store,
    mongoUri,
    databaseName,
    logs,
    async stop() {
      await server.close();
      await store.close();
    },
  };
}

/** Makes a workspace through the admin token, as an operator would. */
async function bootstrap(http1Url: string, ca: Buffer | undefined) {
  const transport = createConnectTransport({ baseUrl: http1Url, httpVersion: "1.1", nodeOptions: { ca }, interceptors: [bearer(TEST_ADMIN_TOKEN)] });
  const admin = createClient(WorkspaceService, transport);
  const created = await admin.createWorkspace({ workspace: { name: "wire tests" } });
  return { workspaceId: created.workspace!.id, rootKey: created.rootKeySecret };
}
