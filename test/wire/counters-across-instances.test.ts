import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { KeyService } from "../../gen/latchkey/v1/key_pb.js";
import { KeyspaceService } from "../../gen/latchkey/v1/keyspace_pb.js";
import { VerifyCode, VerifyService } from "../../gen/latchkey/v1/verify_pb.js";
import { WorkspaceService } from "../../gen/latchkey/v1/workspace_pb.js";
import { bearer, TEST_ADMIN_TOKEN } from "../support/auth.js";
import { type ServiceProcess, startService } from "../support/service-process.js";

/**
 * Three service processes on one MongoDB, as replicas run: credits and rate limits stay exact
 * across them, and across one of them being killed (SIGKILL: no chance to give anything back).
 */
const LEASE_MS = 4000;
const INSTANCES = 3;
let services: ServiceProcess[] = [];
let verifiers: Client<typeof VerifyService>[][] = [];
let keys: Client<typeof KeyService>;
let keyspaceId = "";

beforeAll(async () => {
  const database = `latchkey_counters_${process.pid}_${Date.now()}`;
  services = Array.from({ length: INSTANCES }, () =>
    startService({
      MONGODB_URI: inject("mongoUri"),
      MONGODB_DATABASE: database,
      ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      ACCESS_LOG: "false",
      CREDIT_SHARE_LEASE_MS: String(LEASE_MS),
    }),
  );
  const ports = await Promise.all(services.map((service) => service.listening));
  const admin = createClient(WorkspaceService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${ports[0]}`, interceptors: [bearer(TEST_ADMIN_TOKEN)] }));
  const { rootKeySecret } = await admin.createWorkspace({ workspace: { name: "counters" } });
  const transport = (port: number) => createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}`, interceptors: [bearer(rootKeySecret)] });
  // Four connections to each instance.
  verifiers = ports.map((port) => Array.from({ length: 4 }, () => createClient(VerifyService, transport(port))));
  keys = createClient(KeyService, transport(ports[0]!));
  keyspaceId = (await createClient(KeyspaceService, transport(ports[0]!)).createKeyspace({ keyspace: { name: "counters" } })).keyspace!.id;
}, 60_000);

afterAll(async () => {
  await Promise.all(services.map((service) => service.stop()));
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** What a busy machine adds to a documented bound before a wait for it gives up. */
const RECLAIM_MARGIN_MS = 10_000;

/** Polls `condition` until it holds; fails after `boundMs` (the documented bound with its margin). */
async function within(boundMs: number, what: string, condition: () => Promise<boolean>) {
  const deadline = Date.now() + boundMs;
  while (!(await condition())) {
    expect(Date.now(), what).toBeLessThan(deadline);
    await sleep(100);
  }
}

/** Verifies the secret from `workers` callers spread evenly over the instances until `until` says stop; counts answers by code. */
async function load(secret: string, instances: number[], workers: number, until: (counts: Map<VerifyCode, number>) => boolean) {
  const counts = new Map<VerifyCode, number>();
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      const instance = instances[worker % instances.length]!;
      const client = verifiers[instance]![Math.floor(worker / instances.length) % 4]!;
      while (!until(counts)) {
        let code: VerifyCode;
        try {
          code = (await client.verifyKey({ key: secret })).code;
        } catch {
          return;
        }
        counts.set(code, (counts.get(code) ?? 0) + 1);
      }
    }),
  );
  return counts;
}

describe("rate limits across three instances", () => {
  it("admits at most the limit in each window; a window the load filled loses at most each instance's last allowance", async () => {
    // Small enough for 24 callers to fill a window even on a busy machine.
    const limit = 60;
    const durationMs = 3000;
    const workers = 24;
    const { secret } = await keys.createKey({
      key: { keyspaceId, rateLimits: [{ name: "shared", limit: BigInt(limit), durationMs: BigInt(durationMs), autoApply: true }] },
    });
    const admitted = new Map<bigint, number>();
    const filled = new Set<bigint>();
    let filledWindowEnd = Infinity;
    const deadline = Date.now() + 60_000;
    await Promise.all(
      Array.from({ length: workers }, async (_, worker) => {
        const client = verifiers[worker % INSTANCES]![Math.floor(worker / INSTANCES) % 4]!;
        // Until a window the load filled has ended: its count is then final.
        while (Date.now() <= filledWindowEnd && Date.now() < deadline) {
          const answer = await client.verifyKey({ key: secret });
          const window = answer.rateLimits[0]!.resetAt!.seconds;
          if (answer.code === VerifyCode.VALID) admitted.set(window, (admitted.get(window) ?? 0) + 1);
          if (answer.code === VerifyCode.RATE_LIMITED && !filled.has(window)) {
            filled.add(window);
            filledWindowEnd = Math.min(filledWindowEnd, Number(window) * 1000 + 1000);
          }
        }
      }),
    );
    expect(filled.size, "the load filled a window").toBeGreaterThan(0);
    for (const count of admitted.values()) expect(count).toBeLessThanOrEqual(limit);
    // An allowance is a sixteenth of the room left, or as many as there are requests waiting on the instance.
    const lastAllowance = Math.max(Math.ceil(limit / 16), workers / INSTANCES);
    for (const window of filled) expect(admitted.get(window) ?? 0).toBeGreaterThanOrEqual(limit - INSTANCES * lastAllowance);
  }, 120_000);
});

describe("credits across three instances, one killed mid-run", () => {
  it("never sells more than the balance, and the killed instance's share returns after it expires", async () => {
    const credits = 3000;
    const { key, secret } = await keys.createKey({ key: { keyspaceId, credits: { remaining: BigInt(credits) } } });
    const valid = (counts: Map<VerifyCode, number>) => counts.get(VerifyCode.VALID) ?? 0;

    const killed = services[2]!;
    let killedAt = 0;
    const alive = () => killed.child.exitCode === null && killed.child.signalCode === null;
    const exceeded = (enough: number) => (counts: Map<VerifyCode, number>) => (counts.get(VerifyCode.USAGE_EXCEEDED) ?? 0) >= enough;
    let before = valid(await load(secret, [0, 1, 2], 24, (counts) => valid(counts) >= credits / 3));
    // The instance to be killed is sure to hold a share: a few calls take one if its last ran out.
    before += valid(await load(secret, [2], 1, (counts) => valid(counts) >= 10));
    before += valid(
      await load(secret, [0, 1, 2], 24, (counts) => {
        if (valid(counts) >= 100 && alive()) {
          killed.child.kill("SIGKILL");
          killedAt = Date.now();
        }
        return exceeded(200)(counts);
      }),
    );
    expect(killed.child.signalCode).toBe("SIGKILL");
    const held = (await keys.getKey({ id: key!.id })).key!.credits!.remaining;
    expect(before + Number(held)).toBeLessThanOrEqual(credits);

    // Expired after LEASE_MS, taken back a third later (the allowance for clocks that disagree): the survivors, each in
    // turn (so each spends what it had claimed), sell it within that bound.
    let after = 0;
    await within(killedAt + (LEASE_MS * 4) / 3 + RECLAIM_MARGIN_MS - Date.now(), "the killed instance's share came back", async () => {
      after += valid(await load(secret, [0], 4, exceeded(50))) + valid(await load(secret, [1], 4, exceeded(50)));
      return (await keys.getKey({ id: key!.id })).key!.credits!.remaining === 0n;
    });
    const total = before + after;
    expect(total).toBeLessThanOrEqual(credits);
    // What the killed instance had claimed and not spent is the only loss: under one and a half claims of at most 1/8 of a share.
    expect(total).toBeGreaterThanOrEqual(credits - Math.floor((1.5 * credits) / 16 / 8));
    expect((await keys.getKey({ id: key!.id })).key!.credits!.remaining).toBe(0n);
  }, 180_000);
});
