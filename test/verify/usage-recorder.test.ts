import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/log.js";
import { MemoryStore } from "../../src/store/memory.js";
import type { KeyUse } from "../../src/store/store.js";
import { UsageRecorder } from "../../src/verify/usage-recorder.js";

describe("UsageRecorder", () => {
  it("writes one latest use per key per flush", async () => {
    const written: KeyUse[][] = [];
    const store = Object.assign(new MemoryStore(), { recordKeyUse: async (uses: readonly KeyUse[]) => void written.push([...uses]) });
    const recorder = new UsageRecorder(store, { flushMs: 1000, log: createLogger("silent") });
    recorder.record("key_a", 10);
    recorder.record("key_a", 30);
    recorder.record("key_a", 20);
    recorder.record("key_b", 5);
    await recorder.flush();
    await recorder.flush();
    expect(written).toEqual([[{ id: "key_a", at: new Date(30) }, { id: "key_b", at: new Date(5) }]]);
  });

  it("keeps a failed batch for the next flush, merged with newer uses, and counts the failure", async () => {
    const written: KeyUse[][] = [];
    let failures = 0;
    let down = true;
    const store = Object.assign(new MemoryStore(), {
      recordKeyUse: async (uses: readonly KeyUse[]) => {
        if (down) throw new Error("down");
        written.push([...uses]);
      },
    });
    const recorder = new UsageRecorder(store, { flushMs: 1000, log: createLogger("silent"), onFailure: () => failures++ });
    recorder.record("key_a", 10);
    recorder.record("key_b", 10);
    await recorder.flush();
    expect(failures).toBe(1);
    recorder.record("key_a", 50);
    down = false;
    await recorder.flush();
    expect(written).toEqual([[{ id: "key_a", at: new Date(50) }, { id: "key_b", at: new Date(10) }]]);
  });
});
