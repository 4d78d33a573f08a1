import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CreditOperation, KeyService } from "../../gen/latchkey/v1/key_pb.js";
import { KeyspaceService } from "../../gen/latchkey/v1/keyspace_pb.js";
import { VerifyCode, VerifyService } from "../../gen/latchkey/v1/verify_pb.js";
import { DEFAULT_VERIFICATION_OPTIONS } from "../../src/verify/index.js";
import { startTestServer, type TestServer } from "../support/server.js";

/**
 * Exactness where it is hardest: many connections to three instances sharing one MongoDB.
 * Each client is its own HTTP/2 connection.
 */
let first: TestServer;
let second: TestServer;
let third: TestServer;
/**
 * What is tested is exactness, not speed: on a busy machine thousands of verifications at once can
 * keep the test database from answering within the default store timeout, which is an availability
 * setting, so it is raised here.
 */
const storeTimeoutMs = 120_000;
beforeAll(async () => {
  first = await startTestServer({ storeTimeoutMs });
  second = await startTestServer({ databaseName: first.databaseName, workspace: first, storeTimeoutMs });
  third = await startTestServer({ databaseName: first.databaseName, workspace: first, storeTimeoutMs });
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

/** A change reaches every instance within a poll, and a holder's answer takes a store write or two: this margin covers a busy machine. */
const FEED_MARGIN_MS = 3000;
const CHANGE_POLL_MS = DEFAULT_VERIFICATION_OPTIONS.changePollMs;

const keys = () => createClient(KeyService, createGrpcTransport({ baseUrl: first.url, interceptors: [first.auth] }));
const stored = async (id: string) => (await first.store.getKey(id))!.credits!;

/** Polls `condition` until it holds; fails after `boundMs`, the documented bound (its margin included). */
async function within(boundMs: number, what: string, condition: () => Promise<boolean>) {
  const deadline = Date.now() + boundMs;
  while (!(await condition())) {
    expect(Date.now(), what).toBeLessThan(deadline);
    await sleep(20);
  }
}

/**
 * The key's balance once every instance has given its share back: a change to the key makes each
 * give it back (claimed units not spent included) within a change-feed poll.
 */
async function settledBalance(id: string) {
  await keys().updateKey({ key: { id, name: "settled" }, updateMask: { paths: ["name"] } });
  await within(
    2 * CHANGE_POLL_MS + FEED_MARGIN_MS,
    "every share given back after the key changed",
    async () => Object.keys((await stored(id)).shares ?? {}).length === 0,
  );
  return (await stored(id)).remaining;
}

/**
 * Runs `count` verifications from 24 callers spread over the three instances, each calling in
 * turn (so an update sent meanwhile waits behind a few calls, not thousands); `onAnswer` sees
 * each answer as it comes.
 */
async function verifyMany(secret: string, count: number, onAnswer: (code: VerifyCode, sentAt: number) => void = () => {}) {
  const clients = [...connections(first, 8), ...connections(second, 8), ...connections(third, 8)];
  const codes: VerifyCode[] = [];
  await Promise.all(
    clients.map(async (client) => {
      while (codes.length < count) {
        const sentAt = Date.now();
        const { code } = await client.verifyKey({ key: secret });
        codes.push(code);
        onAnswer(code, sentAt);
      }
    }),
  );
  return codes;
}

const validIn = (codes: VerifyCode[]) => codes.filter((code) => code === VerifyCode.VALID).length;

describe("credits under concurrency", { timeout: 240_000 }, () => {
  // 25 credits are spent per call; 400 are enough for instances to spend from shares.
  it.each([25, 400])("with N = %i credits, exactly N of 20×N concurrent verifications across three instances are valid", async (credits) => {
    const { key, secret } = await issue({ credits: { remaining: BigInt(credits) } });
    const clients = [...connections(first, 4), ...connections(second, 4), ...connections(third, 4)];
    const results = await Promise.all(Array.from({ length: 20 * credits }, (_, i) => clients[i % clients.length]!.verifyKey({ key: secret })));
    const codes = results.map((result) => result.code);
    expect(codes.filter((code) => code === VerifyCode.VALID)).toHaveLength(credits);
    expect(codes.filter((code) => code === VerifyCode.USAGE_EXCEEDED)).toHaveLength(19 * credits);
    expect(results.every((result) => result.creditsRemaining! >= 0n)).toBe(true);
    expect(await settledBalance(key!.id)).toBe(0);
  });

  // Under 256 credits every verification spends in the store; at 400 instances spend from shares.
  it.each([100, 400])(
    "with N = %i credits, DECREMENT and INCREMENT racing 20×N verifications on three instances lose and invent nothing: VALID + remaining = N + increments − decrements",
    async (credits) => {
      const { key, secret } = await issue({ credits: { remaining: BigInt(credits) } });
      const increment = Math.floor(credits / 2);
      const decrement = Math.floor(credits / 5);
      let updates: Promise<unknown> | undefined;
      let balanceAfterDecrement = 0n;
      const codes = await verifyMany(secret, 20 * credits, (code) => {
        if (code !== VerifyCode.VALID) return;
        // The DECREMENT first, while the balance is large: one past the balance would stop at 0.
        updates ??= keys()
          .updateCredits({ keyId: key!.id, operation: CreditOperation.DECREMENT, value: BigInt(decrement) })
          .then(({ key }) => (balanceAfterDecrement = key!.credits!.remaining))
          .then(() => keys().updateCredits({ keyId: key!.id, operation: CreditOperation.INCREMENT, value: BigInt(increment) }));
      });
      await updates;
      // A DECREMENT past the balance stops at 0 and takes less: the exact sum holds for one the balance covers.
      expect(balanceAfterDecrement, "the balance covered the DECREMENT").toBeGreaterThan(0n);
      expect(validIn(codes) + (await settledBalance(key!.id))).toBe(credits + increment - decrement);
    },
  );

  it.each([
    ["UpdateCredits' SET", (keyId: string, balance: number) => keys().updateCredits({ keyId, operation: CreditOperation.SET, value: BigInt(balance) })],
    [
      "UpdateKey of the credits",
      (keyId: string, balance: number) => keys().updateKey({ key: { id: keyId, credits: { remaining: BigInt(balance) } }, updateMask: { paths: ["credits"] } }),
    ],
  ])("%s racing 20×N verifications on three instances is exact: no unit claimed before it is spent after it", async (_, setBalance) => {
    const credits = 4000;
    const newBalance = 300;
    const { key, secret } = await issue({ credits: { remaining: BigInt(credits) } });
    let setSentAt = Infinity;
    let setAnsweredAt = Infinity;
    let set: Promise<unknown> | undefined;
    let valid = 0;
    let validSentAfterSet = 0;
    let validAnsweredAfterSetSent = 0;
    await verifyMany(secret, 8000, (code, sentAt) => {
      if (code !== VerifyCode.VALID) return;
      if (sentAt > setAnsweredAt) validSentAfterSet++;
      if (Date.now() > setSentAt) validAnsweredAfterSetSent++;
      if (++valid === 1000) {
        setSentAt = Date.now();
        set = setBalance(key!.id, newBalance).then(() => (setAnsweredAt = Date.now()));
      }
    });
    await set;
    const remaining = await settledBalance(key!.id);
    // Verifications answered while the SET was under way may fall either side of it; none other may.
    expect(validSentAfterSet + remaining).toBeLessThanOrEqual(newBalance);
    expect(validAnsweredAfterSetSent + remaining).toBeGreaterThanOrEqual(newBalance);
  });

  it.each([25, 400])(
    "with N = %i credits, a refill due while 20×N verifications race on three instances happens once, and an INCREMENT after it counts: VALID + remaining = N + increment",
    async (credits) => {
      const { key, secret } = await issue({ credits: { remaining: 0n, refill: { period: 1, intervalMs: 3_600_000n, amount: BigInt(credits) } } });
      // As if the key's period had just begun: the next verification anywhere refills it.
      const { refill } = await stored(key!.id);
      await first.store.updateKey(key!.id, { credits: { remaining: 0, refill: { ...refill!, lastRefillAt: null } } }, {});
      const increment = Math.floor(credits / 2);
      let updates: Promise<unknown> | undefined;
      const codes = await verifyMany(secret, 20 * credits, (code) => {
        if (code === VerifyCode.VALID) updates ??= keys().updateCredits({ keyId: key!.id, operation: CreditOperation.INCREMENT, value: BigInt(increment) });
      });
      await updates;
      expect(validIn(codes) + (await settledBalance(key!.id))).toBe(credits + increment);
    },
  );

  it(`an instance that runs short gets the units another holds idle back within two change-feed polls (${2 * CHANGE_POLL_MS} ms)`, async () => {
    const cost = 3000n;
    const credits = 1_000_000n;
    const { key, secret } = await issue({ credits: { remaining: credits } });
    const [idle] = connections(second, 1);
    const busy = connections(first, 4);
    expect((await idle!.verifyKey({ key: secret, cost })).code).toBe(VerifyCode.VALID);
    let valid = 1n;
    let shortWhileCovered = false;
    // Until the busy instance is refused while the balance (the idle instance's share included) covers the cost.
    await Promise.all(
      busy.map(async (client) => {
        while (!shortWhileCovered) {
          const answer = await client.verifyKey({ key: secret, cost });
          if (answer.code === VerifyCode.VALID) valid++;
          else if (answer.creditsRemaining! >= cost) shortWhileCovered = true;
          else return;
        }
      }),
    );
    expect(shortWhileCovered, "refused while the idle instance's share covered the cost").toBe(true);
    await within(2 * CHANGE_POLL_MS + FEED_MARGIN_MS, "the idle share came back", async () => {
      const spent = (await busy[0]!.verifyKey({ key: secret, cost })).code === VerifyCode.VALID;
      if (spent) valid++;
      return spent;
    });
    while ((await busy[0]!.verifyKey({ key: secret, cost })).code === VerifyCode.VALID) valid++;
    expect(valid * cost + BigInt(await settledBalance(key!.id))).toBe(credits);
  });
});

describe("rate limits under concurrency", { timeout: 240_000 }, () => {
  it("admits at most the limit per window from many connections, and admits again in the next window", async () => {
    const limit = 20;
    const durationMs = 1000;
    const { secret } = await issue({ rateLimits: [{ name: "rps", limit: BigInt(limit), durationMs: BigInt(durationMs), autoApply: true }] });
    const clients = [...connections(first, 3), ...connections(second, 3)];
    /** Admissions by the window the instance counted each in (its end, as the answer says): a burst may straddle two. */
    const admittedByWindow = new Map<bigint, number>();
    const burst = async () => {
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => clients[i % clients.length]!.verifyKey({ key: secret })));
      for (const result of results.filter((each) => each.code === VerifyCode.VALID)) {
        const window = result.rateLimits[0]!.resetAt!.seconds * 1000n + BigInt(result.rateLimits[0]!.resetAt!.nanos / 1e6);
        admittedByWindow.set(window, (admittedByWindow.get(window) ?? 0) + 1);
      }
      return results.filter((result) => result.code === VerifyCode.VALID).length;
    };
    expect(await burst()).toBeGreaterThan(0);
    const windowsSeen = admittedByWindow.size;
    await within(2 * durationMs + FEED_MARGIN_MS, "a later window admits again", async () => (await burst()) > 0 && admittedByWindow.size > windowsSeen);
    for (const admitted of admittedByWindow.values()) expect(admitted).toBeLessThanOrEqual(limit);
  });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
