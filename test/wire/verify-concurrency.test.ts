import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeyService } from "../../gen/latchkey/v1/key_pb.js";
import { KeyspaceService } from "../../gen/latchkey/v1/keyspace_pb.js";
import { VerifyCode, VerifyService } from "../../gen/latchkey/v1/verify_pb.js";
import { windowStart } from "../../src/domain/rate-limiter.js";
import { startTestServer, type TestServer } from "../support/server.js";

/**
 * Exactness where it is hardest: many connections to three instances sharing one MongoDB.
 * Each client is its own HTTP/2 connection.
 */
let first: TestServer;
let second: TestServer;
let third: TestServer;
beforeAll(async () => {
  first = await startTestServer();
  second = await startTestServer({ databaseName: first.databaseName, workspace: first });
  third = await startTestServer({ databaseName: first.databaseName, workspace: first });
});
afterAll(async () => {
  await Promise.all([first.stop(), second.stop(), third.stop()]);
});

const connections = (server: TestServer, count: number) =>
  Array.from({ length: count }, () => createClient(VerifyService, createGrpcTransport({ baseUrl: server.url, interceptors: [server.auth] })));

async function issue(key: object) {
  const transport = createGrpcTransport({ baseUrl: first.url, interceptors: [first.auth] });
  const { keyspace } = await createClient(KeyspaceService, transport).createKeyspace({ keyspace: { name: "concurrency" } });
  return createClient(KeyService, transport).createKey({ key: { keyspaceId: keyspace!.id, ...key } });
}

describe("credits under concurrency", () => {
  // 25 credits are spent per call; 400 are enough for instances to spend from shares.
  it.each([25, 400])("with N = %i credits, exactly N of 20×N concurrent verifications across three instances are valid", async (credits) => {
    const { key, secret } = await issue({ credits: { remaining: BigInt(credits) } });
    const clients = [...connections(first, 4), ...connections(second, 4), ...connections(third, 4)];
    const results = await Promise.all(
      Array.from({ length: 20 * credits }, (_, i) => clients[i % clients.length]!.verifyKey({ key: secret })),
    );
    const codes = results.map((result) => result.code);
    expect(codes.filter((code) => code === VerifyCode.VALID)).toHaveLength(credits);
    expect(codes.filter((code) => code === VerifyCode.USAGE_EXCEEDED)).toHaveLength(19 * credits);
    expect(results.every((result) => result.creditsRemaining! >= 0n)).toBe(true);
    expect((await first.store.getKey(key!.id))!.credits!.remaining).toBe(0);
  });

  it("refills once per period however many verifications race for it", async () => {
    const { key, secret } = await issue({ credits: { remaining: 0n, refill: { period: 1, intervalMs: 1000n, amount: 10n } } });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const clients = [...connections(first, 3), ...connections(second, 3)];
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => clients[i % clients.length]!.verifyKey({ key: secret })));
    const valid = results.filter((result) => result.code === VerifyCode.VALID).length;
    const stored = (await first.store.getKey(key!.id))!.credits!;
    expect(valid + stored.remaining).toBe(10);
    expect(valid).toBeGreaterThanOrEqual(1);
  });
});

describe("rate limits under concurrency", () => {
  it("admits at most the limit per window from many connections, and admits again in the next window", async () => {
    const limit = 20;
    const durationMs = 1000;
    const { key, secret } = await issue({ rateLimits: [{ name: "rps", limit: BigInt(limit), durationMs: BigInt(durationMs), autoApply: true }] });
    const clients = [...connections(first, 3), ...connections(second, 3)];
    const burst = async () => {
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => clients[i % clients.length]!.verifyKey({ key: secret })));
      return results.filter((result) => result.code === VerifyCode.VALID).length;
    };
    const nextWindow = () => windowStart({ counter: `key:${key!.id}:rps`, durationMs }, Date.now()) + durationMs;
    await sleep(nextWindow() - Date.now() + 20);
    const started = Date.now();
    const admitted = await burst();
    const took = Date.now() - started;
    expect(admitted).toBeLessThanOrEqual(limit);
    if (took < durationMs - 50) expect(admitted).toBe(limit);
    await sleep(nextWindow() - Date.now() + 20);
    expect(await burst()).toBeGreaterThan(0);
  });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
