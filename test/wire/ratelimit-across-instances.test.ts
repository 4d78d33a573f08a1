import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { KeyService, RateLimitAlgorithm } from "../../gen/latchkey/v1/key_pb.js";
import { KeyspaceService } from "../../gen/latchkey/v1/keyspace_pb.js";
import { RatelimitService } from "../../gen/latchkey/v1/ratelimit_pb.js";
import { VerifyCode, VerifyService } from "../../gen/latchkey/v1/verify_pb.js";
import { WorkspaceService } from "../../gen/latchkey/v1/workspace_pb.js";
import { CELLS_PER_WINDOW, cellAt } from "../../src/domain/sliding-window.js";
import { bearer, TEST_ADMIN_TOKEN } from "../support/auth.js";
import { type ServiceProcess, startService } from "../support/service-process.js";

/**
 * Three service processes on one MongoDB, as replicas run: a sliding window never admits more
 * than its limit across them, not even when one is killed (SIGKILL: nothing given back), and an
 * override reaches every instance within the change feed's bound.
 */
const INSTANCES = 3;
/** docs/ratelimit.md: an override applies on every instance within a second. */
const OVERRIDE_BOUND_MS = 1000;
let services: ServiceProcess[] = [];
let limiters: Client<typeof RatelimitService>[][] = [];
let verifiers: Client<typeof VerifyService>[][] = [];
let keys: Client<typeof KeyService>;
let keyspaceId = "";

beforeAll(async () => {
  const database = `latchkey_ratelimit_${process.pid}_${Date.now()}`;
  services = Array.from({ length: INSTANCES }, () =>
    startService({ MONGODB_URI: inject("mongoUri"), MONGODB_DATABASE: database, ADMIN_TOKEN: TEST_ADMIN_TOKEN, ACCESS_LOG: "false" }),
  );
  const ports = await Promise.all(services.map((service) => service.listening));
  const admin = createClient(WorkspaceService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${ports[0]}`, interceptors: [bearer(TEST_ADMIN_TOKEN)] }));
  const { rootKeySecret } = await admin.createWorkspace({ workspace: { name: "ratelimit" } });
  const transport = (port: number) => createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}`, interceptors: [bearer(rootKeySecret)] });
  // Four connections to each instance.
  limiters = ports.map((port) => Array.from({ length: 4 }, () => createClient(RatelimitService, transport(port))));
  verifiers = ports.map((port) => Array.from({ length: 4 }, () => createClient(VerifyService, transport(port))));
  keys = createClient(KeyService, transport(ports[0]!));
  keyspaceId = (await createClient(KeyspaceService, transport(ports[0]!)).createKeyspace({ keyspace: { name: "ratelimit" } })).keyspace!.id;
}, 60_000);

afterAll(async () => {
  await Promise.all(services.map((service) => service.stop()));
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The cell a success was counted in, from its reset_at: the start of the cell CELLS_PER_WINDOW + 1 after it. */
const countedIn = (resetAtMs: number, durationMs: number) => Math.round((resetAtMs * CELLS_PER_WINDOW) / durationMs) - 1 - CELLS_PER_WINDOW;

/** The most successes counted in any run of CELLS_PER_WINDOW + 1 cells: a span of one window lies within such a run. */
function busiestRun(admittedCells: readonly number[]) {
  const perCell = new Map<number, number>();
  for (const cell of admittedCells) perCell.set(cell, (perCell.get(cell) ?? 0) + 1);
  let busiest = 0;
  for (let end = Math.min(...admittedCells); end <= Math.max(...admittedCells); end++) {
    let run = 0;
    for (let cell = end - CELLS_PER_WINDOW; cell <= end; cell++) run += perCell.get(cell) ?? 0;
    busiest = Math.max(busiest, run);
  }
  return { perCell, busiest };
}

describe("sliding windows across three instances, one killed mid-window", () => {
  it("never admits more than the limit in any run of cells a window spans, before or after the kill, and the survivors go on admitting", async () => {
    // Small enough that the load reaches it on a loaded machine.
    const limit = 40;
    const durationMs = 2000;
    const request = { namespace: "load", identifier: "hot", limit: BigInt(limit), durationMs: BigInt(durationMs) };
    const admittedCells: number[] = [];
    const killed = services[2]!;
    const started = Date.now();
    const killAt = started + 1.5 * durationMs;
    const stopAt = killAt + 3.5 * durationMs;
    let killCell = Number.POSITIVE_INFINITY;
    await Promise.all(
      Array.from({ length: 24 }, async (_, worker) => {
        const client = limiters[worker % INSTANCES]![Math.floor(worker / INSTANCES) % 4]!;
        while (Date.now() < stopAt) {
          if (Date.now() >= killAt && killed.child.signalCode === null) {
            killCell = cellAt(durationMs, Date.now());
            killed.child.kill("SIGKILL");
          }
          let answer;
          try {
            answer = await client.limit(request);
          } catch {
            // The killed instance's callers stop.
            return;
          }
          if (answer.success) admittedCells.push(countedIn(timestampMs(answer.resetAt!), durationMs));
        }
      }),
    );
    expect(killed.child.signalCode).toBe("SIGKILL");
    const { perCell, busiest } = busiestRun(admittedCells);
    expect(busiest).toBeLessThanOrEqual(limit);
    expect(busiest).toBeGreaterThanOrEqual(0.9 * limit);
    // The killed instance may have reserved ahead into the cell after the kill; once that cell has
    // left the window, the survivors admit nearly all of the limit again. The best window starting
    // within one window of that point is taken: a loaded machine's stall leaves units held unused
    // for a cell (docs/ratelimit.md, admission rate), which is not the dead instance's hold.
    const firstFreeCell = killCell + 1 + CELLS_PER_WINDOW + 1;
    let afterKill = 0;
    for (let start = firstFreeCell; start <= firstFreeCell + CELLS_PER_WINDOW; start++) {
      let admitted = 0;
      for (let cell = start; cell <= start + CELLS_PER_WINDOW; cell++) admitted += perCell.get(cell) ?? 0;
      afterKill = Math.max(afterKill, admitted);
    }
    expect(
      afterKill,
      `admitted per cell after the kill in cell ${killCell}: ${JSON.stringify([...perCell].filter(([cell]) => cell > killCell))}`,
    ).toBeGreaterThanOrEqual(0.9 * limit);
  }, 60_000);
});

describe("overrides across instances", () => {
  it("an override set or deleted through one instance applies on another within a second", async () => {
    const [writer, reader] = [limiters[0]![0]!, limiters[1]![0]!];
    const request = { namespace: "logins", identifier: "vip@example.com", limit: 5n, durationMs: 60_000n };
    expect((await reader.limit(request)).overrideId).toBe("");
    const until = async (wanted: string) => {
      const begun = Date.now();
      while (Date.now() - begun < OVERRIDE_BOUND_MS + 2000) {
        if ((await reader.limit({ ...request, cost: 0n })).overrideId === wanted) return Date.now() - begun;
        await sleep(10);
      }
      throw new Error("the override never applied");
    };
    const { override } = await writer.setOverride({ override: { namespace: "logins", identifier: "*@example.com", limit: 1000n, durationMs: 1000n } });
    expect(await until(override!.id)).toBeLessThanOrEqual(OVERRIDE_BOUND_MS);
    await writer.deleteOverride({ namespace: "logins", identifier: "*@example.com" });
    expect(await until("")).toBeLessThanOrEqual(OVERRIDE_BOUND_MS);
  }, 30_000);
});

describe("a key's sliding-window limit across two instances", () => {
  it("never admits more than the limit in any run of cells a window spans, and admits nearly all of it", async () => {
    // Instances 0 and 1: the first test killed instance 2.
    const limit = 40;
    const durationMs = 2000;
    const { secret } = await keys.createKey({
      key: {
        keyspaceId,
        rateLimits: [{ name: "api", limit: BigInt(limit), durationMs: BigInt(durationMs), autoApply: true, algorithm: RateLimitAlgorithm.SLIDING_WINDOW }],
      },
    });
    const admittedCells: number[] = [];
    const stopAt = Date.now() + 3 * durationMs;
    await Promise.all(
      Array.from({ length: 16 }, async (_, worker) => {
        const client = verifiers[worker % 2]![Math.floor(worker / 2) % 4]!;
        while (Date.now() < stopAt) {
          const answer = await client.verifyKey({ key: secret });
          if (answer.code === VerifyCode.VALID) admittedCells.push(countedIn(timestampMs(answer.rateLimits[0]!.resetAt!), durationMs));
        }
      }),
    );
    const { busiest } = busiestRun(admittedCells);
    expect(busiest).toBeLessThanOrEqual(limit);
    expect(busiest).toBeGreaterThanOrEqual(0.9 * limit);
  }, 60_000);
});
