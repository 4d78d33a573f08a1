import { randomUUID } from "node:crypto";
import { inject } from "vitest";
import type { RandomSource } from "../../src/domain/base58.js";
import { createLogger } from "../../src/log.js";
import { type RunningServer, startServer } from "../../src/server.js";
import { MongoStore } from "../../src/store/mongodb.js";
import type { Store } from "../../src/store/store.js";

export interface TestServer extends RunningServer {
  /** The HTTP/2 listener's base URL. */
  url: string;
  /** The HTTP/1.1 listener's base URL. */
  http1Url: string;
  /** The native gRPC (grpc-js) listener's base URL. */
  grpcUrl: string;
  store: MongoStore;
  mongoUri: string;
  databaseName: string;
  /** Every log line the server wrote. */
  logs: string[];
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
    random?: RandomSource;
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
    maxRequestBytes: options.maxRequestBytes ?? 1024 * 1024,
    corsAllowedOrigins: ["https://app.example.com"],
    tlsCertFile: options.tls?.certFile,
    tlsKeyFile: options.tls?.keyFile,
    shutdownTimeoutMs: 5000,
    store: options.wrapStore ? options.wrapStore(store) : store,
    log: createLogger("info", (line) => logs.push(line)),
    random: options.random,
  });
  return {
    ...server,
    url: `http://127.0.0.1:${server.port}`,
    http1Url: `http://127.0.0.1:${server.http1Port}`,
    grpcUrl: `http://127.0.0.1:${server.grpcPort}`,
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
