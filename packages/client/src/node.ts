import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { latchkeyClients, type LatchkeyClient, rootKeyAuth } from "./index.js";

export * from "./index.js";

export interface NodeClientOptions {
  /** `http://latchkey:50051` (GRPC_PORT) for gRPC, the fastest; `http://latchkey:8080` (PORT) for Connect. */
  baseUrl: string;
  rootKey: string;
  /** gRPC unless told: what GRPC_PORT speaks. */
  transport?: "grpc" | "connect";
}

/** Clients for every latchkey service from a Node service, authenticated with the root key. */
export function createLatchkeyClient({ baseUrl, rootKey, transport = "grpc" }: NodeClientOptions): LatchkeyClient {
  const interceptors = [rootKeyAuth(rootKey)];
  return latchkeyClients(
    transport === "grpc" ? createGrpcTransport({ baseUrl, interceptors }) : createConnectTransport({ baseUrl, httpVersion: "2", interceptors }),
  );
}
