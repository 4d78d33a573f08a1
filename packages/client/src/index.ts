import { type Code, ConnectError, createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { API_SERVICE_TABLE, type ApiServiceTable } from "../../../src/app/api-services.js";

export * from "../../../gen/latchkey/v1/analytics_pb.js";
export * from "../../../gen/latchkey/v1/audit_pb.js";
export * from "../../../gen/latchkey/v1/errors_pb.js";
export * from "../../../gen/latchkey/v1/identity_pb.js";
export * from "../../../gen/latchkey/v1/key_pb.js";
export * from "../../../gen/latchkey/v1/keyspace_pb.js";
export * from "../../../gen/latchkey/v1/ratelimit_pb.js";
export * from "../../../gen/latchkey/v1/rbac_pb.js";
export * from "../../../gen/latchkey/v1/root_key_pb.js";
export * from "../../../gen/latchkey/v1/verify_pb.js";
export * from "../../../gen/latchkey/v1/workspace_pb.js";
export { Code } from "@connectrpc/connect";

/** A client for every latchkey service, over one transport, named as in the server's table of services. */
export type LatchkeyClient = { [Name in keyof ApiServiceTable]: Client<ApiServiceTable[Name]> };

/** Sends the root key (or the operator's ADMIN_TOKEN, for CreateWorkspace) with every call. */
export function rootKeyAuth(rootKey: string): Interceptor {
  const value = `Bearer ${rootKey}`;
  return (next) => (request) => {
    request.header.set("authorization", value);
    return next(request);
  };
}

/** Every service's client over a transport that already carries the credentials (see rootKeyAuth). */
export function latchkeyClients(transport: Transport): LatchkeyClient {
  const clients = Object.entries(API_SERVICE_TABLE).map(([name, service]) => [name, createClient(service, transport)]);
  return Object.fromEntries(clients) as LatchkeyClient;
}

/**
 * Every item of a List RPC, page after page: `for await (const key of pages((r) => client.keys.listKeys(r), { keyspaceId }, (page) => page.keys))`.
 */
export async function* pages<Request extends object, Page extends { nextPageToken: string }, Item>(
  list: (request: Request & { pageToken: string }) => Promise<Page>,
  request: Request,
  items: (page: Page) => readonly Item[],
): AsyncGenerator<Item> {
  let pageToken = "";
  do {
    const page = await list({ ...request, pageToken });
    yield* items(page);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
}

/**
 * A failed call with latchkey's machine-readable details: the gRPC code, the stable `reason` from
 * errors.proto (`PERMISSION_MISSING`, `NO_CREDITS`, …) and its facts (the missing `permission`).
 */
export class LatchkeyError extends Error {
  constructor(
    message: string,
    readonly code: Code,
    readonly reason: string | undefined,
    readonly metadata: Readonly<Record<string, string>>,
    readonly cause: unknown,
  ) {
    super(message);
    this.name = "LatchkeyError";
  }

  static from(error: unknown): LatchkeyError {
    const connectError = ConnectError.from(error);
    const [info] = connectError.findDetails(ErrorInfoSchema);
    return new LatchkeyError(connectError.rawMessage, connectError.code, info?.reason, info?.metadata ?? {}, error);
  }
}
