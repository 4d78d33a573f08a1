import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { latchkeyClients, type LatchkeyClient, rootKeyAuth } from "./index.js";

export * from "./index.js";

export interface WebClientOptions {
  /** latchkey's HTTP1_PORT (or its TLS port), from an origin in its CORS_ALLOWED_ORIGINS. */
  baseUrl: string;
  /** In a browser, a root key narrowed to key.verify and one keyspace: see docs/using-the-api.md, "What a browser should hold". */
  rootKey: string;
  /** Connect (JSON unless `binary`) unless told; gRPC-Web for proxies that expect it. */
  transport?: "connect" | "grpc-web";
  binary?: boolean;
}

/** Clients for every latchkey service from a browser, authenticated with the root key. */
export function createLatchkeyClient({ baseUrl, rootKey, transport = "connect", binary = false }: WebClientOptions): LatchkeyClient {
  const interceptors = [rootKeyAuth(rootKey)];
  return latchkeyClients(
    transport === "connect"
      ? createConnectTransport({ baseUrl, useBinaryFormat: binary, interceptors })
      : createGrpcWebTransport({ baseUrl, useBinaryFormat: binary, interceptors }),
  );
}
