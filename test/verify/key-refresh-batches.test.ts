import { describe, expect, it } from "vitest";
import type { KeyRecord } from "../../src/domain/key.js";
import type { VerifiableKey } from "../../src/domain/verification.js";
import { KeyRefreshBatches, MAX_REFRESH_BATCH, REFRESHES_PER_TURN } from "../../src/verify/key-refresh-batches.js";
import { keyRecord } from "../support/fixtures.js";

const WS = "ws_refresh";

/**
 * A store holding `records`, whose reads take `ms` and record how many ran at once, how many ids
 * each read by id asked for, and which digests were read on their own.
 */
function slowStore(records: KeyRecord[], ms: number) {
  const sizes: number[] = [];
  const digestReads: string[] = [];
  let running = 0;
  let mostAtOnce = 0;
  const timed = async <T>(read: () => T): Promise<T> => {
    mostAtOnce = Math.max(mostAtOnce, ++running);
    await new Promise((resolve) => setTimeout(resolve, ms));
    running--;
    return read();
  };
  const reads = {
    byIds: (_workspaceId: string, ids: string[]) => {
      sizes.push(ids.length);
      return timed(() => records.filter((record) => ids.includes(record.id)));
    },
    byDigest: (workspaceId: string, digest: string) => {
      digestReads.push(digest);
      return timed(
        () => records.find((record) => record.workspaceId === workspaceId && (record.hash === digest || record.previousSecret?.hash === digest)) ?? null,
      );
    },
  };
  return { reads, sizes, digestReads, mostAtOnce: () => mostAtOnce };
}

/** Compiles a record to its id alone, so the tests see which key answered. */
const compileToId = async (record: KeyRecord | null) => (record ? ({ id: record.id } as unknown as VerifiableKey) : null);
const idOf = (key: VerifiableKey | null) => (key as unknown as { id: string } | null)?.id ?? null;

describe("KeyRefreshBatches", () => {
  it(`refreshes N keys with ceil(N / ${MAX_REFRESH_BATCH}) reads by id, one at a time: a wave of refreshes never floods the store`, async () => {
    const records = Array.from({ length: 2 * MAX_REFRESH_BATCH + 1 }, () => keyRecord({ workspaceId: WS }));
    const store = slowStore(records, 30);
    const batches = new KeyRefreshBatches(store.reads, compileToId, 5);
    const refreshed = await Promise.all(records.map((record) => batches.refresh(WS, record.hash, record.id, () => {})));
    expect(refreshed.map(idOf)).toEqual(records.map((record) => record.id));
    expect(store.sizes).toEqual([MAX_REFRESH_BATCH, MAX_REFRESH_BATCH, 1]);
    expect(store.digestReads).toEqual([]);
    expect(store.mostAtOnce()).toBe(1);
    expect(batches.refreshed).toBe(records.length);
  });

  it(`takes a read's refreshes ${REFRESHES_PER_TURN} to a turn of the event loop, so that calls waiting meanwhile go between`, async () => {
    const records = Array.from({ length: 3 * REFRESHES_PER_TURN }, () => keyRecord({ workspaceId: WS }));
    const store = slowStore(records, 1);
    let turns = 0;
    let counting = true;
    const countTurns = () => {
      turns++;
      if (counting) setImmediate(countTurns);
    };
    setImmediate(countTurns);
    const turnOfCompile: number[] = [];
    const batches = new KeyRefreshBatches(
      store.reads,
      (record) => {
        turnOfCompile.push(turns);
        return compileToId(record);
      },
      5,
    );
    await Promise.all(records.map((record) => batches.refresh(WS, record.hash, record.id, () => {})));
    counting = false;
    expect(store.sizes).toEqual([records.length]);
    const compilesByTurn = new Map<number, number>();
    for (const turn of turnOfCompile) compilesByTurn.set(turn, (compilesByTurn.get(turn) ?? 0) + 1);
    expect([...compilesByTurn.values()]).toEqual([REFRESHES_PER_TURN, REFRESHES_PER_TURN, REFRESHES_PER_TURN]);
  });

  it("reads a key once for both its digests during a reroll's grace, and each digest gets the key", async () => {
    const rerolled = keyRecord({ workspaceId: WS, previousSecret: { hash: "1".repeat(64), start: "pay_1", expiresAt: new Date(Date.now() + 60_000) } });
    const store = slowStore([rerolled], 5);
    const batches = new KeyRefreshBatches(store.reads, compileToId, 5);
    const refreshed = await Promise.all([rerolled.hash, "1".repeat(64)].map((digest) => batches.refresh(WS, digest, rerolled.id, () => {})));
    expect(refreshed.map(idOf)).toEqual([rerolled.id, rerolled.id]);
    expect(store.sizes).toEqual([1]);
  });

  it("refreshes due while a read runs join the next read instead of starting their own", async () => {
    const records = Array.from({ length: 4 }, () => keyRecord({ workspaceId: WS }));
    const store = slowStore(records, 50);
    const batches = new KeyRefreshBatches(store.reads, compileToId, 5);
    const [first, ...others] = records;
    const refreshFirst = batches.refresh(WS, first!.hash, first!.id, () => {});
    await new Promise((resolve) => setTimeout(resolve, 20));
    const later = others.map((record) => batches.refresh(WS, record.hash, record.id, () => {}));
    await Promise.all([refreshFirst, ...later]);
    expect(store.sizes).toEqual([1, 3]);
  });

  it("never answers a workspace's digest with another workspace's key, even when a read by id returns one", async () => {
    const theirs = keyRecord({ workspaceId: "ws_theirs" });
    const store = slowStore([theirs], 5);
    const batches = new KeyRefreshBatches(store.reads, compileToId, 5);
    expect(await batches.refresh(WS, theirs.hash, theirs.id, () => {})).toBeNull();
    expect(store.digestReads).toEqual([theirs.hash]);
  });

  it("a key that no longer answers to the digest is gone, unless the digest became another key's: the digest is read on its own", async () => {
    const rerolledAway = keyRecord({ workspaceId: WS, previousSecret: { hash: "2".repeat(64), start: "pay_2", expiresAt: new Date() } });
    const heir = keyRecord({ workspaceId: WS, hash: "3".repeat(64) });
    const store = slowStore([rerolledAway, heir], 5);
    const batches = new KeyRefreshBatches(store.reads, compileToId, 5);
    const refreshed = await Promise.all([
      batches.refresh(WS, "1".repeat(64), rerolledAway.id, () => {}),
      batches.refresh(WS, "3".repeat(64), "key_deleted", () => {}),
      batches.refresh(WS, "4".repeat(64), "key_deleted_too", () => {}),
    ]);
    expect(refreshed.map(idOf)).toEqual([null, heir.id, null]);
    expect(store.sizes).toEqual([3]);
    expect(store.digestReads).toEqual(["1", "3", "4"].map((n) => n.repeat(64)));
    expect(store.mostAtOnce()).toBe(1);
  });

  it("a failed read by id fails every refresh of its batch, and a failed read of a digest only its own", async () => {
    const kept = keyRecord({ workspaceId: WS });
    const failing = {
      byIds: async (_workspaceId: string, ids: string[]) => {
        if (ids.includes("key_fails")) throw new Error("store down");
        return [kept];
      },
      byDigest: async () => {
        throw new Error("store down");
      },
    };
    const batches = new KeyRefreshBatches(failing, compileToId, 5);
    const together = [batches.refresh(WS, kept.hash, kept.id, () => {}), batches.refresh(WS, "5".repeat(64), "key_fails", () => {})];
    for (const outcome of await Promise.allSettled(together)) expect(outcome.status).toBe("rejected");
    const apart = [batches.refresh(WS, kept.hash, kept.id, () => {}), batches.refresh(WS, "6".repeat(64), "key_gone", () => {})];
    expect((await Promise.allSettled(apart)).map((outcome) => outcome.status)).toEqual(["fulfilled", "rejected"]);
  });
});
