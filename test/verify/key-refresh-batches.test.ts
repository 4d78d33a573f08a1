import { describe, expect, it } from "vitest";
import type { KeyRecord } from "../../src/domain/key.js";
import { KeyRefreshBatches } from "../../src/verify/key-refresh-batches.js";
import { keyRecord } from "../support/fixtures.js";

const WS = "ws_refresh";

/** A store read that takes `ms` and records how many ran at once and how many digests each asked for. */
function slowRead(ms: number) {
  const sizes: number[] = [];
  let running = 0;
  let mostAtOnce = 0;
  const read = async (_workspaceId: string, digests: string[]): Promise<KeyRecord[]> => {
    sizes.push(digests.length);
    mostAtOnce = Math.max(mostAtOnce, ++running);
    await new Promise((resolve) => setTimeout(resolve, ms));
    running--;
    return digests.map((hash) => keyRecord({ hash }));
  };
  return { read, sizes, mostAtOnce: () => mostAtOnce };
}

describe("KeyRefreshBatches", () => {
  it("reads one batch at a time, at most a hundred digests each: a wave of refreshes never floods the store", async () => {
    const store = slowRead(30);
    const batches = new KeyRefreshBatches(store.read, async (record) => (record ? { hash: record.hash } : null) as never, 5);
    const digests = Array.from({ length: 450 }, (_, i) => `digest_${i}`);
    const refreshed = await Promise.all(digests.map((digest) => batches.refresh(WS, digest, () => {})));
    expect(refreshed.map((key) => (key as unknown as { hash: string }).hash)).toEqual(digests);
    expect(store.mostAtOnce()).toBe(1);
    expect(store.sizes.every((size) => size <= 100)).toBe(true);
    expect(store.sizes.reduce((sum, size) => sum + size, 0)).toBe(450);
    expect(batches.refreshed).toBe(450);
  });

  it("refreshes due while a read runs join the next read instead of starting their own", async () => {
    const store = slowRead(50);
    const batches = new KeyRefreshBatches(store.read, async (record) => (record ? { hash: record.hash } : null) as never, 5);
    const first = batches.refresh(WS, "first", () => {});
    await new Promise((resolve) => setTimeout(resolve, 20));
    const later = ["a", "b", "c"].map((digest) => batches.refresh(WS, digest, () => {}));
    await Promise.all([first, ...later]);
    expect(store.sizes).toEqual([1, 3]);
  });
});
