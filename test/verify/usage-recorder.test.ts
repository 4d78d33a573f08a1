import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/log.js";
import { MemoryStore } from "../../src/store/memory.js";
import type { KeyUse } from "../../src/store/store.js";
import { UsageRecorder } from "../../src/verify/usage-recorder.js";

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

  it("writes a key in constant use once per resolution, and not at all while its stored last use is recent enough", async () => {
    const { store, written } = recordingStore();
    const recorder = new UsageRecorder(store, { flushMs: 1000, resolutionMs: 60_000, log: createLogger("silent") });
    const busy = key("key_busy");
    const seenLately = key("key_seen_lately", 100_000);
    for (let at = 100_000; at < 160_000; at += 1000) {
      recorder.record(busy, at);
      recorder.record(seenLately, at);
      await recorder.flush();
    }
    recorder.record(busy, 160_000);
    recorder.record(seenLately, 160_000);
    await recorder.flush();
    expect(written).toEqual([
      [{ id: "key_busy", at: new Date(100_000) }],
      [
        { id: "key_busy", at: new Date(160_000) },
        { id: "key_seen_lately", at: new Date(160_000) },
      ],
    ]);
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
