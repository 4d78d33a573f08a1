import { Code, ConnectError, createRouterTransport, type Interceptor, type Transport } from "@connectrpc/connect";
import { expect } from "vitest";
import { type LatchkeyClient, latchkeyClients } from "../../packages/client/src/index.js";
import { HealthState } from "../../src/transport/health.js";
import { createLogger } from "../../src/observability/log.js";
import { apiRoutes, serviceDeps, serviceImplementations } from "../../src/app/services.js";
import { MemoryStore } from "../../src/store/memory.js";
import type { Store } from "../../src/store/store.js";
import type { ServiceDeps } from "../../src/api/deps.js";
import { createVerification, DEFAULT_VERIFICATION_OPTIONS, type Verification, type VerificationOptions } from "../../src/verify/index.js";
import type { KeyEncryptionKey } from "../../src/domain/secret-vault.js";
import { bearer, TEST_ADMIN_TOKEN, TEST_KEY_ENCRYPTION_KEYS } from "./auth.js";

/** A client for every service that takes a root key (the client package's), all sending the same credentials. */
export interface Clients extends LatchkeyClient {
  transport: Transport;
}

export interface Bootstrap {
  workspaceId: string;
  rootKeyId: string;
  secret: string;
}

export interface TestApi extends Clients {
  store: Store;
  clock: { now: number };
  verification: Verification;
  deps: ServiceDeps;
  /** The first workspace of this api and its all-powerful root key, which the clients above use. */
  workspace(): Promise<Bootstrap>;
  /** A further workspace, made through the admin token. */
  newWorkspace(name?: string): Promise<Bootstrap>;
  /** Clients that send this root key, or these headers, instead. */
  as(secret: string): Clients;
  withInterceptors(interceptors: Interceptor[]): Clients;
}

/**
 * The real services and interceptors behind an in-process Connect transport, on a clock the test
 * moves. The change feed and usage recorder do not run in the background: tests poll and flush.
 * The clients authenticate as the root key of a workspace made on first use.
 */
export function testApi(
  store: Store = new MemoryStore(),
  options: Partial<VerificationOptions> = {},
  keyEncryptionKeys: readonly KeyEncryptionKey[] = TEST_KEY_ENCRYPTION_KEYS,
): TestApi {
  const clock = { now: Date.UTC(2026, 0, 15, 12) };
  const now = () => clock.now;
  const log = createLogger("silent");
  const verification = createVerification(store, now, log, { ...DEFAULT_VERIFICATION_OPTIONS, ...options, adminToken: TEST_ADMIN_TOKEN });
  const deps = serviceDeps({ store, now, keyEncryptionKeys }, verification);
  const routes = apiRoutes(serviceImplementations(deps, new HealthState([]), { verification, log, accessLog: false }));
  const withInterceptors = (sent: Interceptor[]) => clients(createRouterTransport(routes, { transport: { interceptors: sent } }));
  const admin = withInterceptors([bearer(TEST_ADMIN_TOKEN)]).workspaces;
  const newWorkspace = async (name = "test workspace"): Promise<Bootstrap> => {
    const created = await admin.createWorkspace({ workspace: { name } });
    return { workspaceId: created.workspace!.id, rootKeyId: created.rootKey!.id, secret: created.rootKeySecret };
  };
  let first: Promise<Bootstrap> | undefined;
  const workspace = () => (first ??= newWorkspace());
  return {
    store,
    clock,
    verification,
    deps,
    workspace,
    newWorkspace,
    as: (secret) => withInterceptors([bearer(secret)]),
    withInterceptors,
    ...withInterceptors([bearer(async () => (await workspace()).secret)]),
  };
}

export function clients(transport: Transport): Clients {
  return { ...latchkeyClients(transport), transport };
}

export async function createKeyspace(api: Pick<Clients, "keyspaces">, name = "payments", defaultPrefix = "pay") {
  const { keyspace } = await api.keyspaces.createKeyspace({ keyspace: { name, defaultPrefix } });
  return keyspace!;
}

/** Asserts the call fails with the code, and that its message starts with `messageStart` when given. */
export async function expectCode(call: Promise<unknown>, code: Code, messageStart?: string) {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error, "the call should have failed").toBeInstanceOf(ConnectError);
  const connectError = error as ConnectError;
  expect(Code[connectError.code]).toBe(Code[code]);
  if (messageStart !== undefined) expect(connectError.rawMessage.startsWith(messageStart), connectError.rawMessage).toBe(true);
  return connectError;
}

/** JSON of anything a client returned, int64 fields included. */
export const stringify = (value: unknown) => JSON.stringify(value, (_, field) => (typeof field === "bigint" ? String(field) : field));

/** GetKey's key without the live use of its rate-limit windows, to compare with what CreateKey or UpdateKey answered. */
export function withoutWindowUse<K extends { rateLimits: { used: bigint; windowEndsAt?: unknown }[] }>(key: K): K {
  return { ...key, rateLimits: key.rateLimits.map((limit) => ({ ...limit, used: 0n, windowEndsAt: undefined })) };
}
