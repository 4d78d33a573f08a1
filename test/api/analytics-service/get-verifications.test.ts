import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Granularity, VerificationGrouping as By } from "../../../gen/latchkey/v1/analytics_pb.js";
import { VerifyCode } from "../../../gen/latchkey/v1/verify_pb.js";
import { FINAL_AFTER_MS } from "../../../src/domain/analytics/buckets.js";
import { expectCode, testApi } from "../../support/api.js";
import { buildWorld } from "../../support/world.js";

/** The test clock's day; the API's clock starts at noon. */
const DAY = Date.UTC(2026, 0, 15);
const since = (granularity: Granularity, startTime = DAY) => ({ startTime: timestampFromMs(startTime), granularity });

async function setUp() {
  const api = testApi();
  const world = await buildWorld(api, await api.workspace());
  const { key: paid, secret: paidSecret } = await world.clients.keys.createKey({
    key: { keyspaceId: world.keyspaceId, externalId: "acme", credits: { remaining: 10n } },
  });
  const { keyspace: other } = await world.clients.keyspaces.createKeyspace({ keyspace: { name: "other" } });
  const { key: elsewhere, secret: elsewhereSecret } = await world.clients.keys.createKey({ key: { keyspaceId: other!.id } });
  const verify = (key: string, tags: string[] = [], cost?: bigint) => world.clients.verify.verifyKey({ key, tags, cost });
  const flush = () => api.verification.analytics!.flush();
  return { api, world, paid: paid!, paidSecret, other: other!, elsewhere: elsewhere!, elsewhereSecret, verify, flush };
}

describe("GetVerifications", () => {
  it("counts every verification by outcome, with credits spent, at every granularity", async () => {
    const { world, paid, paidSecret, verify, flush, elsewhereSecret } = await setUp();
    for (let i = 0; i < 4; i++) await verify(paidSecret, ["plan.pro"], 3n);
    await verify(paidSecret, [], 3n);
    await verify(elsewhereSecret);
    await verify("lk_unknown_secret");
    await flush();
    for (const granularity of [Granularity.MINUTE, Granularity.HOUR, Granularity.DAY, Granularity.MONTH]) {
      const startTime = granularity === Granularity.MONTH ? Date.UTC(2026, 0, 1) : Date.UTC(2026, 0, 15, 11);
      const { buckets } = await world.clients.analytics.getVerifications({ ...since(granularity, startTime), groupBy: [By.KEY] });
      const byKey = Object.fromEntries(buckets.map((bucket) => [bucket.keyId, bucket]));
      expect(byKey[paid.id], Granularity[granularity]).toMatchObject({
        total: 5n,
        valid: 3n,
        outcomes: { VERIFY_CODE_VALID: 3n, VERIFY_CODE_USAGE_EXCEEDED: 2n },
        creditsSpent: 9n,
      });
      expect(byKey[""]).toMatchObject({ total: 1n, outcomes: { VERIFY_CODE_NOT_FOUND: 1n } });
      expect(Object.keys(byKey)).toHaveLength(3);
    }
    const [total] = (await world.clients.analytics.getVerifications(since(Granularity.DAY))).buckets;
    expect(total).toMatchObject({ time: timestampFromMs(DAY), total: 7n, valid: 4n });
  });

  it("filters by keyspace, keys, identities, outcomes and tags, and groups by each", async () => {
    const { world, paid, paidSecret, other, verify, flush, elsewhereSecret } = await setUp();
    await verify(paidSecret, ["route.a", "plan.pro"]);
    await verify(paidSecret, ["route.b"]);
    await verify(elsewhereSecret, ["route.a"]);
    await flush();
    const ask = (request: object) => world.clients.analytics.getVerifications({ ...since(Granularity.HOUR), ...request });
    expect((await ask({ keyspaceId: other.id })).buckets.map((bucket) => bucket.total)).toEqual([1n]);
    expect((await ask({ keyIds: [paid.id] })).buckets.map((bucket) => bucket.total)).toEqual([2n]);
    expect((await ask({ externalIds: ["acme"], groupBy: [By.IDENTITY] })).buckets.map((bucket) => [bucket.externalId, bucket.total])).toEqual([["acme", 2n]]);
    expect((await ask({ tags: ["route.a"], groupBy: [By.KEYSPACE] })).buckets.map((bucket) => [bucket.keyspaceId, bucket.total]).sort()).toEqual(
      [
        [world.keyspaceId, 1n],
        [other.id, 1n],
      ].sort(),
    );
    expect((await ask({ groupBy: [By.TAG] })).buckets.map((bucket) => [bucket.tag, bucket.total])).toEqual([
      ["plan.pro", 1n],
      ["route.a", 2n],
      ["route.b", 1n],
    ]);
    const outcomes = await ask({ outcomes: [VerifyCode.NOT_FOUND], groupBy: [By.OUTCOME] });
    expect(outcomes.buckets).toEqual([]);
    const valid = await ask({ outcomes: [VerifyCode.VALID], groupBy: [By.OUTCOME] });
    expect(valid.buckets.map((bucket) => [bucket.outcome, bucket.total])).toEqual([[VerifyCode.VALID, 3n]]);
  });

  it("pages with a token until every bucket has been served once", async () => {
    const { world, verify, flush, api } = await setUp();
    const secrets = [];
    for (let i = 0; i < 5; i++) secrets.push((await world.clients.keys.createKey({ key: { keyspaceId: world.keyspaceId } })).secret);
    for (const secret of secrets) await verify(secret);
    await flush();
    api.clock.now += 60_000;
    for (const secret of secrets) await verify(secret);
    await flush();
    const request = { ...since(Granularity.MINUTE, DAY + 12 * 3_600_000), groupBy: [By.KEY], pageSize: 3 };
    const pages = [];
    let pageToken = "";
    do {
      const page = await world.clients.analytics.getVerifications({ ...request, pageToken });
      pages.push(page.buckets.length);
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(pages).toEqual([3, 3, 3, 1]);
    for (const forged of ["bm90IGEgdG9rZW4", Buffer.from(JSON.stringify([Number.MAX_SAFE_INTEGER, ""])).toString("base64url")]) {
      await expectCode(
        world.clients.analytics.getVerifications({ ...request, pageToken: forged }),
        Code.InvalidArgument,
        "page_token is not a token this listing returned",
      );
    }
  });

  it("answers the pages after one of final counts from reads made ahead, and pages of counts still coming from reads made when asked", async () => {
    const { world, verify, flush, api } = await setUp();
    for (let i = 0; i < 5; i++) await verify((await world.clients.keys.createKey({ key: { keyspaceId: world.keyspaceId } })).secret);
    await flush();
    let reads = 0;
    const documents = api.store.analytics.documents.bind(api.store.analytics);
    api.store.analytics.documents = (filter) => {
      reads++;
      return documents(filter);
    };
    const request = { ...since(Granularity.HOUR, DAY), groupBy: [By.KEY], pageSize: 2 };
    /** Every page, and the store reads made while each was asked for (pages read ahead before it have been read). */
    const everyPage = async () => {
      const pages = [];
      let pageToken = "";
      do {
        await api.deps.verificationPages.settled();
        const before = reads;
        const page = await world.clients.analytics.getVerifications({ ...request, pageToken });
        pages.push({ keys: page.buckets.map((bucket) => bucket.keyId), totals: page.buckets.map((bucket) => bucket.total), reads: reads - before });
        pageToken = page.nextPageToken;
      } while (pageToken);
      return pages;
    };

    const live = await everyPage();
    expect(live.map((page) => page.totals)).toEqual([[1n, 1n], [1n, 1n], [1n]]);
    expect(live.every((page) => page.reads > 0)).toBe(true);
    expect(api.deps.verificationPages.size).toBe(0);

    api.clock.now += 3_600_000 + FINAL_AFTER_MS;
    const final = await everyPage();
    expect(final.map(({ keys, totals }) => ({ keys, totals }))).toEqual(live.map(({ keys, totals }) => ({ keys, totals })));
    expect(final.map((page) => page.reads > 0)).toEqual([true, false, false]);
  });

  it("gives a page read ahead only to the scope it was read for: a root key narrowed to other keyspaces reads its own", async () => {
    const { world, verify, flush, api, other, elsewhere, elsewhereSecret } = await setUp();
    for (let i = 0; i < 3; i++) await verify((await world.clients.keys.createKey({ key: { keyspaceId: world.keyspaceId } })).secret);
    await verify(elsewhereSecret);
    await flush();
    api.clock.now += 3_600_000 + FINAL_AFTER_MS;
    const request = { ...since(Granularity.HOUR, DAY), groupBy: [By.KEY], pageSize: 2 };
    const first = await world.clients.analytics.getVerifications(request);
    await api.deps.verificationPages.settled();
    expect(api.deps.verificationPages.size).toBe(1);
    const { secret } = await world.clients.rootKeys.createRootKey({ rootKey: { name: "narrow", permissions: ["analytics.read"], keyspaceIds: [other.id] } });
    const narrowed = await api.as(secret).analytics.getVerifications({ ...request, pageToken: first.nextPageToken });
    expect(narrowed.buckets.every((bucket) => bucket.keyId === elsewhere.id)).toBe(true);
    expect(api.deps.verificationPages.size).toBe(1);
    const whole = await world.clients.analytics.getVerifications({ ...request, pageToken: first.nextPageToken });
    expect(whole.buckets).toHaveLength(2);
    expect(api.deps.verificationPages.size).toBe(0);
  });

  it("reads a page of counts not yet final when it is asked for, so counts flushed after the page before are in it", async () => {
    const { world, verify, flush, api } = await setUp();
    const secrets = new Map<string, string>();
    for (let i = 0; i < 3; i++) {
      const { key, secret } = await world.clients.keys.createKey({ key: { keyspaceId: world.keyspaceId } });
      secrets.set(key!.id, secret);
    }
    for (const secret of secrets.values()) await verify(secret);
    await flush();
    const request = { ...since(Granularity.HOUR, DAY), groupBy: [By.KEY], pageSize: 2 };
    const first = await world.clients.analytics.getVerifications(request);
    await api.deps.verificationPages.settled();
    const [onSecondPage] = [...secrets.keys()].filter((id) => !first.buckets.some((bucket) => bucket.keyId === id));
    await verify(secrets.get(onSecondPage!)!);
    await flush();
    const second = await world.clients.analytics.getVerifications({ ...request, pageToken: first.nextPageToken });
    expect(second.buckets.map((bucket) => [bucket.keyId, bucket.total])).toEqual([[onSecondPage, 2n]]);
  });

  it("refuses a range out of order, too long for its granularity, or without a start, naming the field", async () => {
    const { api, world } = await setUp();
    const ask = (request: object) => world.clients.analytics.getVerifications(request);
    await expectCode(ask({ granularity: Granularity.HOUR }), Code.InvalidArgument, "start_time");
    await expectCode(ask({ startTime: timestampFromMs(DAY) }), Code.InvalidArgument, "granularity");
    await expectCode(ask({ ...since(Granularity.HOUR), endTime: timestampFromMs(DAY - 1) }), Code.InvalidArgument, "end_time must be after start_time");
    await expectCode(
      ask({ granularity: Granularity.HOUR, startTime: timestampFromMs(api.clock.now + 3_600_000) }),
      Code.InvalidArgument,
      "start_time must be in the past when end_time is unset",
    );
    await expectCode(
      ask(since(Granularity.MINUTE, DAY - 86_400_000)),
      Code.InvalidArgument,
      "end_time may be at most 1 days after start_time at minute granularity",
    );
    await expectCode(ask({ ...since(Granularity.HOUR), keyIds: ["nope"] }), Code.InvalidArgument, "key_ids[0] is not a key id");
    await expectCode(ask({ ...since(Granularity.HOUR), tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }), Code.InvalidArgument, "tags");
  });

  it("shows a narrowed root key its keyspaces' verifications only, and another workspace nothing", async () => {
    const { api, world, paidSecret, other, verify, flush, elsewhereSecret } = await setUp();
    await verify(paidSecret);
    await verify(elsewhereSecret);
    await verify(elsewhereSecret);
    await flush();
    const { secret } = await world.clients.rootKeys.createRootKey({ rootKey: { name: "narrow", permissions: ["analytics.read"], keyspaceIds: [other.id] } });
    const narrow = api.as(secret);
    const seen = await narrow.analytics.getVerifications({ ...since(Granularity.DAY), groupBy: [By.KEYSPACE] });
    expect(seen.buckets.map((bucket) => [bucket.keyspaceId, bucket.total])).toEqual([[other.id, 2n]]);
    await expectCode(
      narrow.analytics.getVerifications({ ...since(Granularity.DAY), keyspaceId: world.keyspaceId }),
      Code.NotFound,
      `keyspace ${world.keyspaceId} not found`,
    );
    const stranger = await buildWorld(api, await api.newWorkspace("stranger"), "s");
    const foreign = await stranger.clients.analytics.getVerifications({ ...since(Granularity.DAY), keyspaceId: world.keyspaceId, groupBy: [By.KEY] });
    expect(foreign.buckets).toEqual([]);
    expect((await stranger.clients.analytics.getVerifications(since(Granularity.DAY))).buckets).toEqual([]);
  });
});

describe("GetKeyUsage", () => {
  it("answers a key's last 30 days: totals and one bucket per day, a soft-deleted key's too", async () => {
    const { api, world, paid, paidSecret, verify, flush } = await setUp();
    api.clock.now -= 40 * 86_400_000;
    await verify(paidSecret);
    await flush();
    api.clock.now += 30 * 86_400_000;
    await verify(paidSecret, [], 2n);
    await flush();
    api.clock.now += 10 * 86_400_000;
    await verify(paidSecret, [], 3n);
    await verify(paidSecret, [], 100n);
    await flush();
    await world.clients.keys.deleteKey({ id: paid.id });
    const usage = await world.clients.analytics.getKeyUsage({ keyId: paid.id });
    expect(usage).toMatchObject({ keyId: paid.id, startTime: timestampFromMs(DAY - 29 * 86_400_000), total: 3n, valid: 2n, creditsSpent: 5n });
    expect(usage.outcomes).toEqual({ VERIFY_CODE_VALID: 2n, VERIFY_CODE_USAGE_EXCEEDED: 1n });
    expect(usage.days.map((day) => [day.time, day.total])).toEqual([
      [timestampFromMs(DAY - 10 * 86_400_000), 1n],
      [timestampFromMs(DAY), 2n],
    ]);
    await expectCode(world.clients.analytics.getKeyUsage({ keyId: "key_1111111111111111111111" }), Code.InvalidArgument);
  });
});
