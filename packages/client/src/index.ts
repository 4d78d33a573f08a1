import { Code, ConnectError, createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { ErrorInfoSchema } from "../../../gen/google/rpc/error_details_pb.js";
import { AnalyticsService } from "../../../gen/latchkey/v1/analytics_pb.js";
import { AuditService } from "../../../gen/latchkey/v1/audit_pb.js";
import { IdentityService } from "../../../gen/latchkey/v1/identity_pb.js";
import { KeyService } from "../../../gen/latchkey/v1/key_pb.js";
import { KeyspaceService } from "../../../gen/latchkey/v1/keyspace_pb.js";
import { RatelimitService } from "../../../gen/latchkey/v1/ratelimit_pb.js";
import { RbacService } from "../../../gen/latchkey/v1/rbac_pb.js";
import { RootKeyService } from "../../../gen/latchkey/v1/root_key_pb.js";
import { VerifyService } from "../../../gen/latchkey/v1/verify_pb.js";
import { WorkspaceService } from "../../../gen/latchkey/v1/workspace_pb.js";

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

/** A client for every latchkey service, over one transport. */
export interface LatchkeyClient {
  workspaces: Client<typeof WorkspaceService>;
  rootKeys: Client<typeof RootKeyService>;
  keyspaces: Client<typeof KeyspaceService>;
  keys: Client<typeof KeyService>;
  verify: Client<typeof VerifyService>;
  identities: Client<typeof IdentityService>;
  rbac: Client<typeof RbacService>;
  audit: Client<typeof AuditService>;
  ratelimits: Client<typeof RatelimitService>;
  analytics: Client<typeof AnalyticsService>;
}

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
  return {
    workspaces: createClient(WorkspaceService, transport),
    rootKeys: createClient(RootKeyService, transport),
    keyspaces: createClient(KeyspaceService, transport),
    keys: createClient(KeyService, transport),
    verify: createClient(VerifyService, transport),
    identities: createClient(IdentityService, transport),
    rbac: createClient(RbacService, transport),
    audit: createClient(AuditService, transport),
    ratelimits: createClient(RatelimitService, transport),
    analytics: createClient(AnalyticsService, transport),
  };
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
