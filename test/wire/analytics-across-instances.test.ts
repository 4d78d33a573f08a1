import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { AnalyticsService, Granularity, type VerificationBucket, VerificationGrouping as By } from "../../gen/latchkey/v1/analytics_pb.js";
import { KeyService } from "../../gen/latchkey/v1/key_pb.js";
import { KeyspaceService } from "../../gen/latchkey/v1/keyspace_pb.js";
import { VerifyCode, VerifyCodeSchema, VerifyService } from "../../gen/latchkey/v1/verify_pb.js";
import { WorkspaceService } from "../../gen/latchkey/v1/workspace_pb.js";
import { bucketStart } from "../../src/domain/analytics/buckets.js";
import { bearer, TEST_ADMIN_TOKEN } from "../support/auth.js";
import { type ServiceProcess, startService } from "../support/service-process.js";

/**
 * Three service processes on one MongoDB. Two count a known mix of verifications and
 * GetVerifications answers exactly those counts within one flush interval, at every granularity
 * and grouping; one of them is then SIGKILLed and loses at most its unflushed interval; the
 * third, which would not flush for a minute, is stopped with SIGTERM and loses nothing.
 */
const FLUSH_MS = 1000;
/** A loaded machine's allowance for a flush to be written and read back; the documented bound is FLUSH_MS. */
const MARGIN_MS = 2000;

let services: ServiceProcess[] = [];
let verifiers: Client<typeof VerifyService>[] = [];
let analytics: Client<typeof AnalyticsService>;
let keys: Client<typeof KeyService>;
let keyspaceId = "";
const startedAt = Date.now();

beforeAll(async () => {
  const database = `latchkey_analytics_${process.pid}_${Date.now()}`;
  const env = (flushMs: number) => ({
    MONGODB_URI: inject("mongoUri"),
    MONGODB_DATABASE: database,
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    ACCESS_LOG: "false",
    ANALYTICS_FLUSH_MS: String(flushMs),
  });
  services = [startService(env(FLUSH_MS)), startService(env(FLUSH_MS)), startService(env(60_000))];
  const ports = await Promise.all(services.map((service) => service.listening));
  const admin = createClient(WorkspaceService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${ports[0]}`, interceptors: [bearer(TEST_ADMIN_TOKEN)] }));
  const { rootKeySecret } = await admin.createWorkspace({ workspace: { name: "analytics" } });
  const transport = (port: number) => createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}`, interceptors: [bearer(rootKeySecret)] });
  verifiers = ports.map((port) => createClient(VerifyService, transport(port)));
  analytics = createClient(AnalyticsService, transport(ports[0]!));
  keys = createClient(KeyService, transport(ports[0]!));
  keyspaceId = (await createClient(KeyspaceService, transport(ports[0]!)).createKeyspace({ keyspace: { name: "analytics" } })).keyspace!.id;
}, 60_000);

afterAll(async () => {
  await Promise.all(services.map((service) => service.stop()));
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const codeName = (code: VerifyCode) => VerifyCodeSchema.values.find((value) => value.number === code)!.name;

interface Tally {
  keyId: string;
  externalId: string;
  code: VerifyCode;
  tags: string[];
  credits: number;
}

/** What the answers say was verified, summed by the groups a request names, as GetVerifications should sum it. */
function expected(tallies: Tally[], groupBy: By[]) {
  const sums = new Map<string, { total: number; valid: number; credits: number; outcomes: Record<string, number> }>();
  for (const tally of tallies) {
    const tags = groupBy.includes(By.TAG) ? (tally.tags.length > 0 ? tally.tags : [""]) : [""];
    for (const tag of tags) {
      const group = JSON.stringify([
        groupBy.includes(By.KEYSPACE) ? (tally.keyId ? keyspaceId : "") : "",
        groupBy.includes(By.KEY) ? tally.keyId : "",
        groupBy.includes(By.IDENTITY) ? tally.externalId : "",
        groupBy.includes(By.OUTCOME) ? tally.code : VerifyCode.UNSPECIFIED,
        tag,
      ]);
      const sum = sums.get(group) ?? { total: 0, valid: 0, credits: 0, outcomes: {} };
      sum.total++;
      if (tally.code === VerifyCode.VALID) sum.valid++;
      sum.credits += tally.credits;
      sum.outcomes[codeName(tally.code)] = (sum.outcomes[codeName(tally.code)] ?? 0) + 1;
      sums.set(group, sum);
    }
  }
  return sums;
}

/** Every page of the answer, summed over time by group. */
async function answered(request: { granularity: Granularity; groupBy: By[]; keyIds?: string[] }) {
  const startTime = timestampFromMs(bucketStart(Granularity[request.granularity].toLowerCase() as "minute", startedAt));
  const sums = new Map<string, { total: number; valid: number; credits: number; outcomes: Record<string, number> }>();
  let pageToken = "";
  do {
    const page = await analytics.getVerifications({ ...request, startTime, pageSize: 1000, pageToken });
    for (const bucket of page.buckets) add(sums, bucket);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return sums;
}

function add(sums: ReturnType<typeof expected>, bucket: VerificationBucket) {
  const group = JSON.stringify([bucket.keyspaceId, bucket.keyId, bucket.externalId, bucket.outcome, bucket.tag]);
  const sum = sums.get(group) ?? { total: 0, valid: 0, credits: 0, outcomes: {} };
  sum.total += Number(bucket.total);
  sum.valid += Number(bucket.valid);
  sum.credits += Number(bucket.creditsSpent);
  for (const [outcome, count] of Object.entries(bucket.outcomes)) sum.outcomes[outcome] = (sum.outcomes[outcome] ?? 0) + Number(count);
  sums.set(group, sum);
}

const canonical = (sums: ReturnType<typeof expected>) =>
  JSON.stringify([...sums].map(([group, sum]) => [group, sum.total, sum.valid, sum.credits, Object.entries(sum.outcomes).sort()]).sort());

const totalOf = (sums: ReturnType<typeof expected>) => [...sums.values()].reduce((total, sum) => total + sum.total, 0);

/** Asks until the answer is the expected one or `deadline` passes; returns the last answer. */
async function pollUntil(deadline: number, request: Parameters<typeof answered>[0], want: ReturnType<typeof expected>) {
  for (;;) {
    const got = await answered(request);
    if (canonical(got) === canonical(want) || Date.now() > deadline) return got;
    await sleep(100);
  }
}

describe("analytics across instances on MongoDB", () => {
  it("answers exactly the verifications two instances made, at every granularity and grouping, within one flush interval", async () => {
    const made = async (key: object) => {
      const { key: created, secret } = await keys.createKey({ key: { keyspaceId, ...key } });
      return { id: created!.id, secret };
    };
    const plain = await made({ externalId: "acme" });
    const metered = await made({ externalId: "globex", credits: { remaining: 40n } });
    const disabled = await made({ enabled: false });
    const subjects = [
      { keyId: plain.id, externalId: "acme", secret: plain.secret },
      { keyId: metered.id, externalId: "globex", secret: metered.secret },
      { keyId: disabled.id, externalId: "", secret: disabled.secret },
      { keyId: "", externalId: "", secret: "lk_no_such_key_at_all" },
    ];
    const tagSets = [[], ["route.search"], ["route.search", "plan.pro"], ["plan.free"]];
    const tallies: Tally[] = [];
    const N = 240;
    await Promise.all(
      Array.from({ length: 8 }, async (_, worker) => {
        for (let i = worker; i < N; i += 8) {
          const subject = subjects[i % subjects.length]!;
          const tags = tagSets[Math.floor(i / subjects.length) % tagSets.length]!;
          const cost = subject.keyId === metered.id ? 3n : undefined;
          const { code } = await verifiers[i % 2]!.verifyKey({ key: subject.secret, tags, cost });
          const credits = code === VerifyCode.VALID && subject.keyId === metered.id ? 3 : 0;
          tallies.push({ keyId: subject.keyId, externalId: subject.keyId ? subject.externalId : "", code, tags: [...tags].sort(), credits });
        }
      }),
    );
    const verifiedAt = Date.now();
    const codes = new Set(tallies.map((tally) => tally.code));
    expect([...codes].sort()).toEqual([VerifyCode.VALID, VerifyCode.NOT_FOUND, VerifyCode.DISABLED, VerifyCode.USAGE_EXCEEDED].sort());

    const everything = [By.KEY, By.IDENTITY, By.OUTCOME, By.TAG, By.KEYSPACE];
    const first = await pollUntil(verifiedAt + FLUSH_MS + MARGIN_MS, { granularity: Granularity.MINUTE, groupBy: everything }, expected(tallies, everything));
    expect(first).toEqual(expected(tallies, everything));
    for (const granularity of [Granularity.MINUTE, Granularity.HOUR, Granularity.DAY, Granularity.MONTH]) {
      for (const groupBy of [[], [By.KEY], [By.IDENTITY], [By.OUTCOME], [By.TAG], [By.KEYSPACE], [By.KEY, By.OUTCOME, By.TAG], everything]) {
        expect(await answered({ granularity, groupBy }), `${Granularity[granularity]} by ${groupBy.map((by) => By[by]).join(" ")}`).toEqual(
          expected(tallies, groupBy),
        );
      }
    }
  });

  it("loses, for an instance SIGKILLed, at most what it answered in its last flush interval", async () => {
    const { key, secret } = await keys.createKey({ key: { keyspaceId } });
    const victim = services[1]!;
    const answeredAt: number[] = [];
    let killedAt = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (!killedAt) {
          try {
            await verifiers[1]!.verifyKey({ key: secret });
          } catch {
            return;
          }
          answeredAt.push(Date.now());
          if (answeredAt.length >= 400 && !killedAt) {
            killedAt = Date.now();
            victim.child.kill("SIGKILL");
          }
        }
      }),
    );
    await victim.stop();
    expect(victim.child.signalCode).toBe("SIGKILL");
    const countedBefore = answeredAt.filter((at) => at < killedAt - FLUSH_MS - MARGIN_MS).length;
    const request = { granularity: Granularity.MINUTE, groupBy: [], keyIds: [key!.id] };
    let counted = 0;
    const deadline = Date.now() + MARGIN_MS;
    do {
      counted = totalOf(await answered(request));
      if (counted >= countedBefore) break;
      await sleep(100);
    } while (Date.now() < deadline);
    expect(counted).toBeGreaterThanOrEqual(countedBefore);
    expect(counted).toBeLessThanOrEqual(answeredAt.length);
  });

  it("loses nothing for an instance stopped with SIGTERM, though it had not flushed yet", async () => {
    const { key, secret } = await keys.createKey({ key: { keyspaceId } });
    for (let i = 0; i < 50; i++) expect((await verifiers[2]!.verifyKey({ key: secret, tags: ["shutdown"] })).code).toBe(VerifyCode.VALID);
    const [code, signal] = await services[2]!.stop();
    expect([code, signal]).toEqual([0, null]);
    const sums = await answered({ granularity: Granularity.HOUR, groupBy: [By.TAG], keyIds: [key!.id] });
    expect([...sums.values()]).toEqual([{ total: 50, valid: 50, credits: 0, outcomes: { VERIFY_CODE_VALID: 50 } }]);
  });
});
