import { type Client, Code, ConnectError, createClient, createRouterTransport, type Transport } from "@connectrpc/connect";
import { expect } from "vitest";
import { KeyService } from "../../gen/latchkey/v1/key_pb.js";
import { KeyspaceService } from "../../gen/latchkey/v1/keyspace_pb.js";
import { VerifyService } from "../../gen/latchkey/v1/verify_pb.js";
import { HealthState } from "../../src/api/health.js";
import { createLogger } from "../../src/log.js";
import { apiHandlers, serviceImplementations } from "../../src/server.js";
import { MemoryStore } from "../../src/store/memory.js";
import type { Store } from "../../src/store/store.js";
import { createVerification, DEFAULT_VERIFICATION_OPTIONS, type Verification, type VerificationOptions } from "../../src/verify/index.js";

export interface TestApi {
  store: Store;
  clock: { now: number };
  verification: Verification;
  keyspaces: Client<typeof KeyspaceService>;
  keys: Client<typeof KeyService>;
  verify: Client<typeof VerifyService>;
  transport: Transport;
}

/**
 * The real services and interceptors behind an in-process Connect transport, on a clock the test
 * moves. The change feed and usage recorder do not run in the background: tests poll and flush.
 */
export function testApi(store: Store = new MemoryStore(), options: Partial<VerificationOptions> = {}): TestApi {
  const clock = { now: Date.UTC(2026, 0, 15, 12) };
  const now = () => clock.now;
  const log = createLogger("silent");
  const verification = createVerification(store, now, log, { ...DEFAULT_VERIFICATION_OPTIONS, ...options });
  const deps = { store, now, changes: verification.changes, verifier: verification.verifier };
  const { routes, interceptors } = apiHandlers(serviceImplementations(deps, new HealthState([])), log);
  const transport = createRouterTransport(routes, { router: { interceptors } });
  return {
    store,
    clock,
    verification,
    keyspaces: createClient(KeyspaceService, transport),
    keys: createClient(KeyService, transport),
    verify: createClient(VerifyService, transport),
    transport,
  };
}

export async function createKeyspace(api: TestApi, name = "payments", defaultPrefix = "pay") {
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
