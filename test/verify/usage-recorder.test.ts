import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/log.js";
import { MemoryStore } from "../../src/store/memory.js";
import type { KeyUse } from "../../src/store/store.js";
import { RESOLUTION_SPREAD, UsageRecorder } from "../../src/verify/usage-recorder.js";

const key = (id: string, lastUsedAt: number | null = null) => ({ id, lastUsedAt: lastUsedAt === null ? null : new Date(lastUsedAt) });

function recordingStore(options: { down?: () => boolean } = {}) {
  const written: KeyUse[][] = [];
  const store = Object.assign(new MemoryStore(), {
    recordKeyUse: async (uses: readonly KeyUse[]) => {
      if (options.down?.()) throw new Error("down");
      written.push([...uses]);
    },
  });
  return { store, written };
}

describe("UsageRecorder", () => {
  it("writes many keys' uses in calls of at most 500 keys, one at a time; a failed call's keys are written by the next flush", async () => {
    let calls = 0;
    const { store, written } = recordingStore({ down: () => ++calls === 2 });
    const recorder = new UsageRecorder(store, { flushMs: 1000, resolutionMs: 0, log: createLogger("silent") });
    for (let i = 0; i < 1200; i++) recorder.record(key(`key_${i}`), i + 1);
    await recorder.flush();
    expect(written.map((uses) => uses.length)).toEqual([500, 200]);
    await recorder.flush();
    expect(written.map((uses) => uses.length)).toEqual([500, 200, 500]);
    expect(new Set(written.flat().map((use) => use.id)).size).toBe(1200);
  });

  it("writes one latest use per key per flush", async () => {
    const { store, written } = recordingStore();
    const recorder = new UsageRecorder(store, { flushMs: 1000, resolutionMs: 0, log: createLogger("silent") });
    const a = key("key_a");
    recorder.record(a, 10);
    recorder.record(a, 30);
    recorder.record(a, 20);
    recorder.record(key("key_b"), 5);
    await recorder.flush();
    await recorder.flush();
    expect(written).toEqual([
      [
        { id: "key_a", at: new Date(30) },
        { id: "key_b", at: new Date(5) },
      ],
    ]);
  });

  it("writes a key in constant use once per its own resolution, and not at all while its stored last use is recent enough", async () => {
    const { store, written } = recordingStore();
    const recorder = new UsageRecorder(store, { flushMs: 1000, resolutionMs: 60_000, log: createLogger("silent") });
    const busy = key("key_busy");
    const seenLately = key("key_seen_lately", 100_000);
    /** The first whole second at which a key last used at `from` is written again. */
    const nextWrite = (id: string, from: number) => from + Math.ceil(recorder.resolutionOf(id) / 1000) * 1000;
    for (let at = 100_000; at <= 160_000; at += 1000) {
      recorder.record(busy, at);
      recorder.record(seenLately, at);
      await recorder.flush();
    }
    const writes = written.flat().map(({ id, at }) => `${id} ${at.getTime()}`);
    expect(writes).toEqual(
      [
        ["key_busy", 100_000],
        ["key_busy", nextWrite("key_busy", 100_000)],
        ["key_seen_lately", nextWrite("key_seen_lately", 100_000)],
      ]
        .sort((a, b) => Number(a[1]) - Number(b[1]))
        .map(([id, at]) => `${id} ${at}`),
    );
  });

  it(`gives each key a resolution of its own, from ${1 - RESOLUTION_SPREAD} of LAST_USED_RESOLUTION_MS to all of it: keys first used together are written apart`, () => {
    const recorder = new UsageRecorder(new MemoryStore(), { flushMs: 1000, resolutionMs: 60_000, log: createLogger("silent") });
    const resolutions = Array.from({ length: 1000 }, (_, i) => recorder.resolutionOf(`key_${i.toString(36)}x${i * 7919}`));
    for (const resolution of resolutions) {
      expect(resolution).toBeGreaterThan(60_000 * (1 - RESOLUTION_SPREAD));
      expect(resolution).toBeLessThanOrEqual(60_000);
    }
    const quarters = [0, 1, 2, 3].map((quarter) => resolutions.filter((resolution) => Math.floor((60_000 - resolution) / 3_750) === quarter).length);
    for (const count of quarters) expect(count).toBeGreaterThan(150);
    expect(recorder.resolutionOf("key_same")).toBe(recorder.resolutionOf("key_same"));
  });

  it("keeps a failed batch for the next flush, merged with newer uses, and counts the failure", async () => {
    let down = true;
    const { store, written } = recordingStore({ down: () => down });
    let failures = 0;
    const recorder = new UsageRecorder(store, { flushMs: 1000, resolutionMs: 0, log: createLogger("silent"), onFailure: () => failures++ });
    const a = key("key_a");
    recorder.record(a, 10);
    recorder.record(key("key_b"), 10);
    await recorder.flush();
    expect(failures).toBe(1);
    recorder.record(a, 50);
    down = false;
    await recorder.flush();
    expect(written).toEqual([
      [
        { id: "key_a", at: new Date(50) },
        { id: "key_b", at: new Date(10) },
      ],
    ]);
  });
});
