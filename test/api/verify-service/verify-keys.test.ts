import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { VerifyCode } from "../../../gen/latchkey/v1/verify_pb.js";
import { MAX_PENDING_PER_BATCH } from "../../../src/api/verify-service/verify-keys.js";
import { issueSecret } from "../../../src/domain/secret.js";
import { MemoryStore } from "../../../src/store/memory.js";
import { MAX_RESERVATION_ROUNDS } from "../../../src/verify/shared-rate-limits.js";
import { createKeyspace, expectCode, testApi } from "../../support/api.js";
import { countingStore } from "../../support/counting-store.js";

describe("VerifyKeys", () => {
  it("answers each request in order and on its own", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const good = await api.keys.createKey({ key: { keyspaceId: keyspace.id, permissions: ["a"] } });
    const limited = await api.keys.createKey({ key: { keyspaceId: keyspace.id, credits: { remaining: 1n } } });
    const { results } = await api.verify.verifyKeys({
      requests: [
        { key: good.secret },
        { key: "garbage" },
        { key: good.secret, permissionQuery: "b" },
        { key: limited.secret },
        { key: limited.secret },
        { key: good.secret, permissionQuery: "a" },
      ],
    });
    expect(results.map((result) => result.code)).toEqual([
      VerifyCode.VALID,
      VerifyCode.NOT_FOUND,
      VerifyCode.INSUFFICIENT_PERMISSIONS,
      expect.any(Number),
      expect.any(Number),
      VerifyCode.VALID,
    ]);
    expect([results[3]!.code, results[4]!.code].sort()).toEqual([VerifyCode.VALID, VerifyCode.USAGE_EXCEEDED]);
    expect(results[0]!.keyId).toBe(good.key!.id);
  });

  it("answers an empty batch with no results", async () => {
    expect((await testApi().verify.verifyKeys({})).results).toEqual([]);
  });

  it("INVALID_ARGUMENT: names the malformed request, and refuses batches over 1000", async () => {
    const api = testApi();
    await expectCode(
      api.verify.verifyKeys({ requests: [{ key: "a" }, { key: "b", permissionQuery: "(" }] }),
      Code.InvalidArgument,
      "requests[1].permission_query",
    );
    await expectCode(
      api.verify.verifyKeys({ requests: Array.from({ length: 1001 }, () => ({ key: "a" })) }),
      Code.InvalidArgument,
      "requests must contain no more than 1000 item(s)",
    );
  });
});

describe("VerifyKeys and storage", () => {
  it("999 well-formed but unknown secrets cost no storage read once the known-digest filter is built", async () => {
    const { store, calls } = countingStore();
    const api = testApi(store);
    const keyspace = await createKeyspace(api);
    const { secret } = await api.keys.createKey({ key: { keyspaceId: keyspace.id } });
    await api.verification.known.rebuild();
    calls.clear();
    const fakes = Array.from({ length: 999 }, () => ({ key: issueSecret("pay", 16, 4).secret }));
    const { results } = await api.verify.verifyKeys({ requests: [...fakes, { key: secret }] });
    expect(results.filter((result) => result.code === VerifyCode.NOT_FOUND)).toHaveLength(999);
    expect(results.at(-1)!.code).toBe(VerifyCode.VALID);
    // The real key, uncached since the filter's build, is the one read (a false positive among the fakes would be a second).
    expect(calls.get("findKeyByHash")).toBeLessThanOrEqual(2);
  });

  it(`waits on at most ${MAX_PENDING_PER_BATCH} storage reads at once for a batch of uncached keys`, async () => {
    const inner = new MemoryStore();
    let reading = 0;
    let mostAtOnce = 0;
    const findKeyByHash = inner.findKeyByHash.bind(inner);
    inner.findKeyByHash = async (workspaceId, hash) => {
      mostAtOnce = Math.max(mostAtOnce, ++reading);
      await new Promise((resolve) => setTimeout(resolve, 1));
      reading--;
      return findKeyByHash(workspaceId, hash);
    };
    const api = testApi(inner);
    const keyspace = await createKeyspace(api);
    const secrets = await Promise.all(Array.from({ length: 100 }, async () => (await api.keys.createKey({ key: { keyspaceId: keyspace.id } })).secret));
    const { results } = await api.verify.verifyKeys({ requests: secrets.map((key) => ({ key })) });
    expect(results.every((result) => result.code === VerifyCode.VALID)).toBe(true);
    expect(mostAtOnce).toBe(MAX_PENDING_PER_BATCH);
  });
});

describe("VerifyKeys and rate-limit windows", () => {
  /** Twenty limits of a key, each at most `limit` per `durationMs`. */
  const twentyLimits = (limit: number, durationMs: number) => Array.from({ length: 20 }, (_, i) => ({ name: `l${i}`, limit, durationMs, autoApply: true }));

  it("a key stored with 1 ms windows (before the floor) counts in 1 s windows: fewer store writes than verifications, every one answered", async () => {
    const { store, calls } = countingStore();
    const api = testApi(store);
    const keyspace = await createKeyspace(api);
    const { key, secret } = await api.keys.createKey({ key: { keyspaceId: keyspace.id } });
    await store.updateKey(key!.id, { rateLimits: twentyLimits(1000, 1) }, {});
    calls.clear();
    const codes = [];
    for (let i = 0; i < 101; i++) {
      codes.push((await api.verify.verifyKey({ key: secret })).code);
      api.clock.now += 1;
    }
    expect(codes.every((code) => code === VerifyCode.VALID)).toBe(true);
    expect(calls.get("reserveRateLimit")).toBeLessThan(101);
  });

  it(`refuses as RATE_LIMITED, after at most ${MAX_RESERVATION_ROUNDS} reservation rounds, only the item whose granted room keeps going stale; the rest of the batch is answered`, async () => {
    const inner = new MemoryStore();
    let slowWindows = "";
    const reserveRateLimit = inner.reserveRateLimit.bind(inner);
    // A store slower than the window: by the time a reservation returns, its window has passed.
    inner.reserveRateLimit = async (window, units) => {
      if (window.id.includes(slowWindows)) api.clock.now += 1000;
      return reserveRateLimit(window, units);
    };
    const { store, calls } = countingStore(inner);
    const api = testApi(store);
    const keyspace = await createKeyspace(api);
    const slow = await api.keys.createKey({
      key: { keyspaceId: keyspace.id, rateLimits: twentyLimits(1000, 1000).map((limit) => ({ ...limit, limit: 1000n, durationMs: 1000n })) },
    });
    const plain = await api.keys.createKey({ key: { keyspaceId: keyspace.id } });
    slowWindows = slow.key!.id;
    calls.clear();
    const { results } = await api.verify.verifyKeys({ requests: [{ key: plain.secret }, { key: slow.secret }, { key: plain.secret }] });
    expect(results.map((result) => result.code)).toEqual([VerifyCode.VALID, VerifyCode.RATE_LIMITED, VerifyCode.VALID]);
    expect(results[1]!.rateLimits.some((limit) => limit.exceeded)).toBe(true);
    expect(calls.get("reserveRateLimit")).toBeLessThanOrEqual(20 * MAX_RESERVATION_ROUNDS);
  });
});
