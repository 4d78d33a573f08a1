import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyService } from "../../gen/latchkey/v1/key_pb.js";
import { KeyspaceService } from "../../gen/latchkey/v1/keyspace_pb.js";
import { VerifyCode, VerifyService } from "../../gen/latchkey/v1/verify_pb.js";
import { CACHE_REFRESH_BATCH_MS, CACHE_STALE_MS, CACHE_TTL_MS } from "../../src/verify/index.js";
import { startTestServer, type TestServer } from "../support/server.js";

/** A server on MongoDB whose clock the test moves on, so cached keys and root keys pass their time. */
const clock = { offset: 0 };
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ now: () => Date.now() + clock.offset });
});
afterAll(async () => {
  await server.stop();
});

/** The store calls the server made, by method, from its own metrics. */
async function storeCalls(): Promise<Record<string, number>> {
  const text = await (await fetch(server.metricsUrl)).text();
  const calls: Record<string, number> = {};
  for (const [, method, count] of text.matchAll(/^latchkey_store_call_duration_seconds_count\{method="([^"]+)",outcome="ok"\} (\d+)/gm))
    calls[method!] = Number(count);
  return calls;
}

const LOOKUPS = ["findKeyByHash", "findKeysByIds", "keyspaces.find", "rootKeys.find"];
const lookupsSince = (before: Record<string, number>, after: Record<string, number>) =>
  Object.fromEntries(LOOKUPS.map((method) => [method, (after[method] ?? 0) - (before[method] ?? 0)]));

describe("verifying keys the instance holds, past the cache's time", () => {
  const ROUNDS = 3;
  const REFRESH_BOUND_MS = CACHE_REFRESH_BATCH_MS + 5000;
  it("no verification waits for the store: the keys are refreshed together with one read in the background, and the root key once", {
    timeout: ROUNDS * REFRESH_BOUND_MS + 30_000,
  }, async () => {
    const transport = createGrpcTransport({ baseUrl: server.url, interceptors: [server.auth] });
    const keys = createClient(KeyService, transport);
    const verify = createClient(VerifyService, transport);
    const { keyspace } = await createClient(KeyspaceService, transport).createKeyspace({ keyspace: { name: "steady" } });
    const secrets = await Promise.all(Array.from({ length: 5 }, async () => (await keys.createKey({ key: { keyspaceId: keyspace!.id } })).secret));
    for (const key of secrets) expect((await verify.verifyKey({ key })).code).toBe(VerifyCode.VALID);

    for (let round = 1; round <= ROUNDS; round++) {
      clock.offset = round * (CACHE_TTL_MS + 1000);
      const before = await storeCalls();
      // Every key is found past its time at once, so all join one batch.
      for (const code of await Promise.all(secrets.map(async (key) => (await verify.verifyKey({ key })).code))) expect(code).toBe(VerifyCode.VALID);
      for (let i = 0; i < 10; i++) for (const key of secrets) expect((await verify.verifyKey({ key })).code).toBe(VerifyCode.VALID);
      // The batch is read CACHE_REFRESH_BATCH_MS after the first key was found past its time.
      await expect.poll(async () => lookupsSince(before, await storeCalls()).findKeysByIds, { timeout: REFRESH_BOUND_MS, interval: 100 }).toBe(1);
      expect(lookupsSince(before, await storeCalls()), `round ${round}`).toEqual({
        findKeyByHash: 0,
        findKeysByIds: 1,
        "keyspaces.find": 0,
        "rootKeys.find": 1,
      });
    }

    clock.offset += CACHE_TTL_MS + CACHE_STALE_MS;
    const before = await storeCalls();
    for (const key of secrets) expect((await verify.verifyKey({ key })).code).toBe(VerifyCode.VALID);
    // Unused for longer than the stale allowance: read again, each key with one read, its keyspace still cached.
    expect(lookupsSince(before, await storeCalls())).toEqual({ findKeyByHash: secrets.length, findKeysByIds: 0, "keyspaces.find": 0, "rootKeys.find": 1 });
  });
});
