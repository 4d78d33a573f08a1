import { type Client, Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { expect } from "vitest";
import { KeyService } from "../../gen/latchkey/v1/key_pb.js";
import { KeyspaceService } from "../../gen/latchkey/v1/keyspace_pb.js";
import { HealthState } from "../../src/api/health.js";
import { createLogger } from "../../src/log.js";
import { apiHandlers } from "../../src/server.js";
import { MemoryStore } from "../../src/store/memory.js";
import type { Store } from "../../src/store/store.js";

export interface TestApi {
  store: Store;
  clock: { now: number };
  keyspaces: Client<typeof KeyspaceService>;
  keys: Client<typeof KeyService>;
}

/** The real services and interceptors behind an in-process Connect transport, on a clock the test moves. */
export function testApi(store: Store = new MemoryStore()): TestApi {
  const clock = { now: Date.UTC(2026, 0, 15, 12) };
  const { routes, interceptors } = apiHandlers({ store, now: () => clock.now }, new HealthState([]), createLogger("silent"));
  const transport = createRouterTransport(routes, { router: { interceptors } });
  return { store, clock, keyspaces: createClient(KeyspaceService, transport), keys: createClient(KeyService, transport) };
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
