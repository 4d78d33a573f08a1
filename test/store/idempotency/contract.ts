import { expect, it } from "vitest";
import { newId } from "../../../src/domain/ids.js";
import type { Store } from "../../../src/store/store.js";
import { describeContract } from "../describe-contract.js";

/** What every adapter's IdempotencyStore must do. */
export function idempotencyContract(name: string, openStore: () => Promise<Store>) {
  describeContract(`Idempotency store contract: ${name}`, openStore, (store) => {
    it("keeps answers for request ids, claimed once, and prunes those started before a time", async () => {
      const claim = (id: string, startedAt: number) => ({ id, fingerprint: "f", state: "running" as const, response: null, targets: [], startedAt });
      const id = `ws:latchkey.v1.KeyService/CreateKey:${newId("key", Date.now())}`;
      const attempts = await Promise.allSettled(Array.from({ length: 5 }, () => store.requests.insert(claim(id, 1000))));
      expect(attempts.filter((attempt) => attempt.status === "fulfilled")).toHaveLength(1);
      expect(await store.requests.update({ id, startedAt: 999 }, { startedAt: 2000 })).toBeNull();
      const done = { state: "done" as const, response: "AQI=", targets: ["ks_1", "key_2"] };
      expect(await store.requests.update({ id, startedAt: 1000 }, done)).toMatchObject(done);
      expect(await store.requests.find({ id })).toMatchObject(done);
      const recent = `${id}:recent`;
      await store.requests.insert(claim(recent, Date.now()));
      await store.pruneRequests(Date.now() - 60_000);
      expect(await store.requests.find({ id })).toBeNull();
      expect(await store.requests.find({ id: recent })).not.toBeNull();
    });
  });
}
