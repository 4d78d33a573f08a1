import { expect, it } from "vitest";
import type { Store } from "../../../src/store/store.js";
import { describeContract } from "../describe-contract.js";

/** What every adapter's ChangeLog must do. */
export function changeLogContract(name: string, openStore: () => Promise<Store>) {
  describeContract(`ChangeLog contract: ${name}`, openStore, (store) => {
    it("numbers changes in the order it counts them, whatever their authors' clocks say, and prunes by age", async () => {
      const base = Date.now() + 50_000_000;
      const last = await store.lastChangeSeq();
      const changes = [
        { at: new Date(base + 2), keyId: "key_a", hash: "h" },
        { at: new Date(base + 1), keyspaceId: "ks_a" },
        { at: new Date(base + 3), keyId: "key_b" },
      ];
      const numbers: number[] = [];
      for (const change of changes) numbers.push(await store.appendChange(change));
      expect(numbers).toEqual([last + 1, last + 2, last + 3]);
      expect(await store.lastChangeSeq()).toBe(last + 3);
      expect(await store.changesAfter(last, 10)).toEqual(changes.map((change, index) => ({ ...change, seq: last + 1 + index })));
      expect((await store.changesAfter(last + 1, 1)).map((change) => change.seq)).toEqual([last + 2]);
      await store.pruneChanges(new Date(base + 2));
      expect((await store.changesAfter(last, 10)).map((change) => change.seq)).toEqual([last + 1, last + 3]);
    });

    it("gives concurrent changes distinct consecutive numbers", async () => {
      const last = await store.lastChangeSeq();
      const numbers = await Promise.all(Array.from({ length: 20 }, (_, index) => store.appendChange({ at: new Date(), keyId: `key_${index}` })));
      expect([...numbers].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, index) => last + 1 + index));
    });
  });
}
