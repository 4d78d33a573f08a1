import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DomainError } from "../../src/domain/errors.js";
import { newId } from "../../src/domain/ids.js";
import type { KeyRecord } from "../../src/domain/key.js";
import type { Store } from "../../src/store/store.js";
import { keyRecord, keyspaceRecord } from "../support/fixtures.js";

/** The behaviour every Store adapter must show. Each adapter's test file runs it against a fresh store. */
export function storeContract(name: string, openStore: () => Promise<Store>) {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await openStore();
    });
    afterAll(async () => {
      await store.close();
    });

    describe("keyspaces", () => {
      it("stores, reads back and deletes a keyspace", async () => {
        const keyspace = keyspaceRecord();
        await store.insertKeyspace(keyspace);
        expect(await store.getKeyspace(keyspace.id)).toEqual(keyspace);
        expect(await store.deleteKeyspace(keyspace.id)).toBe(true);
        expect(await store.getKeyspace(keyspace.id)).toBeNull();
        expect(await store.deleteKeyspace(keyspace.id)).toBe(false);
      });

      it("refuses a second keyspace with the same id", async () => {
        const keyspace = keyspaceRecord();
        await store.insertKeyspace(keyspace);
        await expectAlreadyExists(store.insertKeyspace({ ...keyspace, name: "other" }));
      });

      it("updates only the given fields and returns the result", async () => {
        const keyspace = keyspaceRecord();
        await store.insertKeyspace(keyspace);
        const updated = await store.updateKeyspace(keyspace.id, { name: "renamed", startLength: 2 });
        expect(updated).toEqual({ ...keyspace, name: "renamed", startLength: 2 });
        expect(await store.getKeyspace(keyspace.id)).toEqual(updated);
        expect(await store.updateKeyspace(newId("ks", Date.now()), { name: "x" })).toBeNull();
      });

      it("lists keyspaces in id order, page by page", async () => {
        const base = Date.now() + 10_000_000;
        const created = [0, 1, 2, 3, 4].map((i) => keyspaceRecord({ id: newId("ks", base + i) }));
        for (const keyspace of [...created].reverse()) await store.insertKeyspace(keyspace);
        const firstId = created[0]!.id;
        const all = await store.listKeyspaces({ limit: 1000 });
        const ours = all.filter((keyspace) => keyspace.id >= firstId);
        expect(ours.map((keyspace) => keyspace.id)).toEqual(created.map((keyspace) => keyspace.id));
        const page = await store.listKeyspaces({ after: created[1]!.id, limit: 2 });
        expect(page.map((keyspace) => keyspace.id)).toEqual([created[2]!.id, created[3]!.id]);
      });
    });

    describe("keys", () => {
      it("round-trips every field, JSON with awkward field names included", async () => {
        const key = keyRecord({
          name: "ci",
          meta: { "dotted.name": 1, $dollar: { nested: [1, "two", null, true] } },
          claims: { plan: "pro" },
          permissions: ["documents.read"],
          roles: ["admin"],
          scopes: ["read:users"],
          resourceScopes: [{ resourceType: "collection", resourceIdPattern: "col_*", operations: ["read"] }],
          allowedOrigins: ["https://*.example.com"],
          expiresAt: new Date(Date.now() + 60_000),
          credits: { remaining: 10, refill: { period: "monthly", intervalMs: 0, dayOfMonth: 31, amount: 100, lastRefillAt: new Date() } },
          rateLimits: [{ name: "requests", limit: 100, durationMs: 60_000, autoApply: true }],
        });
        await store.insertKey(key);
        expect(await store.getKey(key.id)).toEqual(key);
        expect(await store.findKeyByHash(key.hash)).toEqual(key);
        expect(await store.findKeyByHash("0".repeat(64))).toBeNull();
        expect(await store.getKey(newId("key", Date.now()))).toBeNull();
      });

      it("hands out copies that do not change what is stored", async () => {
        const key = keyRecord({ permissions: ["a"] });
        await store.insertKey(key);
        const read = (await store.getKey(key.id))!;
        read.permissions.push("b");
        key.permissions.push("c");
        expect((await store.getKey(key.id))!.permissions).toEqual(["a"]);
      });

      it("refuses a second key with the same digest or id, even after a soft delete", async () => {
        const key = keyRecord();
        await store.insertKey(key);
        await store.updateKey(key.id, { deletedAt: new Date() }, { notDeleted: true });
        await expectAlreadyExists(store.insertKey(keyRecord({ hash: key.hash })));
        await expectAlreadyExists(store.insertKey(keyRecord({ id: key.id })));
      });

      it("frees the digest when a key is deleted permanently", async () => {
        const key = keyRecord();
        await store.insertKey(key);
        expect(await store.deleteKey(key.id)).toEqual(key);
        expect(await store.deleteKey(key.id)).toBeNull();
        expect(await store.findKeyByHash(key.hash)).toBeNull();
      });

      it("updates only where the guard holds", async () => {
        const key = keyRecord();
        await store.insertKey(key);
        const revokedAt = new Date();
        const revoked = await store.updateKey(key.id, { revokedAt, revokedBy: "ops" }, { notRevoked: true, notDeleted: true });
        expect(revoked).toEqual({ ...key, revokedAt, revokedBy: "ops" });
        expect(await store.updateKey(key.id, { name: "again" }, { notRevoked: true })).toBeNull();
        expect((await store.getKey(key.id))!.name).toBe(key.name);
        await store.updateKey(key.id, { deletedAt: new Date() }, {});
        expect(await store.updateKey(key.id, { name: "gone" }, { notDeleted: true })).toBeNull();
        expect(await store.updateKey(newId("key", Date.now()), { name: "missing" }, {})).toBeNull();
      });

      it("lets exactly one of many concurrent guarded updates win", async () => {
        const key = keyRecord();
        await store.insertKey(key);
        const attempts = Array.from({ length: 20 }, (_, i) =>
          store.updateKey(key.id, { revokedAt: new Date(), revokedBy: `actor-${i}` }, { notRevoked: true }),
        );
        const winners = (await Promise.all(attempts)).filter((result) => result !== null);
        expect(winners).toHaveLength(1);
        expect((await store.getKey(key.id))!.revokedBy).toBe(winners[0]!.revokedBy);
      });

      describe("credits", () => {
        const withCredits = (remaining: number) =>
          keyRecord({
            createdAt: new Date(0),
            credits: { remaining, refill: { period: "daily", intervalMs: 0, dayOfMonth: 0, amount: 7, lastRefillAt: new Date(0) } },
          });

        it("spends exactly the credits there are, whatever the concurrency", async () => {
          const key = withCredits(50);
          await store.insertKey(key);
          const results = await Promise.all(Array.from({ length: 400 }, () => store.spendCredits(key.id, 1)));
          expect(results.filter((result) => result?.spent)).toHaveLength(50);
          expect(results.every((result) => result!.remaining >= 0)).toBe(true);
          expect((await store.getKey(key.id))!.credits!.remaining).toBe(0);
        });

        it("refuses a cost above the balance without spending", async () => {
          const key = withCredits(5);
          await store.insertKey(key);
          expect(await store.spendCredits(key.id, 6)).toEqual({ spent: false, remaining: 5 });
          expect(await store.spendCredits(key.id, 5)).toEqual({ spent: true, remaining: 0 });
        });

        it("has nothing to spend on keys without credits, deleted keys and missing keys", async () => {
          const unlimited = keyRecord();
          const deleted = withCredits(5);
          await store.insertKey(unlimited);
          await store.insertKey(deleted);
          await store.updateKey(deleted.id, { deletedAt: new Date() }, {});
          expect(await store.spendCredits(unlimited.id, 1)).toBeNull();
          expect(await store.spendCredits(deleted.id, 1)).toBeNull();
          expect(await store.spendCredits(newId("key", Date.now()), 1)).toBeNull();
        });

        it("refills once per period however many ask at once", async () => {
          const key = withCredits(0);
          await store.insertKey(key);
          const day = new Date(Date.UTC(2026, 0, 2));
          const results = await Promise.all(Array.from({ length: 20 }, () => store.refillCredits(key.id, day, 7)));
          expect(results.filter(Boolean)).toHaveLength(1);
          expect((await store.getKey(key.id))!.credits).toEqual({ remaining: 7, refill: { ...key.credits!.refill!, lastRefillAt: day } });
          await store.spendCredits(key.id, 3);
          expect(await store.refillCredits(key.id, day, 7)).toBe(false);
          expect(await store.refillCredits(key.id, new Date(Date.UTC(2026, 0, 3)), 7)).toBe(true);
          expect((await store.getKey(key.id))!.credits!.remaining).toBe(7);
          expect(await store.refillCredits(keyRecord().id, day, 7)).toBe(false);
        });
      });

      it("moves last_used_at forward only, and leaves updated_at alone", async () => {
        const key = keyRecord();
        await store.insertKey(key);
        await store.recordKeyUse([{ id: key.id, at: new Date(2000) }, { id: newId("key", 1), at: new Date(2000) }]);
        await store.recordKeyUse([{ id: key.id, at: new Date(1000) }]);
        await store.recordKeyUse([]);
        const stored = (await store.getKey(key.id))!;
        expect(stored.lastUsedAt).toEqual(new Date(2000));
        expect(stored.updatedAt).toEqual(key.updatedAt);
      });

      it("keeps a change feed in time order and prunes it", async () => {
        const base = Date.now() + 50_000_000;
        const changes = [
          { id: "c2", at: new Date(base + 2), keyId: "key_a", hash: "h" },
          { id: "c1", at: new Date(base + 1), keyspaceId: "ks_a" },
          { id: "c3", at: new Date(base + 3), keyId: "key_b" },
        ];
        for (const change of changes) await store.appendChange(change);
        expect((await store.changesSince(new Date(base + 2))).map((change) => change.id)).toEqual(["c2", "c3"]);
        expect(await store.changesSince(new Date(base + 1))).toEqual([changes[1], changes[0], changes[2]]);
        await store.pruneChanges(new Date(base + 3));
        expect((await store.changesSince(new Date(base))).map((change) => change.id)).toEqual(["c3"]);
      });

      describe("listing", () => {
        const keyspaceId = newId("ks", Date.now());
        const now = Date.now();
        const base = now + 20_000_000;
        const listedIds = Array.from({ length: 7 }, (_, i) => newId("key", base + i));
        const at = (i: number) => listedIds[i]!;
        const keys: KeyRecord[] = [
          keyRecord({ id: at(0), keyspaceId, ownerId: "user_1", externalId: "acme" }),
          keyRecord({ id: at(1), keyspaceId, ownerId: "user_2", enabled: false }),
          keyRecord({ id: at(2), keyspaceId, ownerId: "user_1", expiresAt: new Date(now - 1000) }),
          keyRecord({ id: at(3), keyspaceId, ownerId: "user_1", revokedAt: new Date(now), enabled: false }),
          keyRecord({ id: at(4), keyspaceId, ownerId: "user_2", deletedAt: new Date(now) }),
          keyRecord({ id: at(5), keyspaceId, ownerId: "user_2", externalId: "acme", expiresAt: new Date(now + 60_000) }),
          keyRecord({ id: at(6), ownerId: "user_1" }),
        ];
        const ids = (records: KeyRecord[]) => records.map((record) => record.id);
        const list = (filter: Partial<Parameters<Store["listKeys"]>[0]>, limit = 100, after?: string) =>
          store.listKeys({ keyspaceId, now, ...filter }, { limit, after });

        beforeAll(async () => {
          for (const key of [...keys].reverse()) await store.insertKey(key);
        });

        it("lists the keyspace's live keys in id order", async () => {
          expect(ids(await list({}))).toEqual([at(0), at(1), at(2), at(3), at(5)]);
        });

        it("pages with a cursor", async () => {
          expect(ids(await list({}, 2))).toEqual([at(0), at(1)]);
          expect(ids(await list({}, 2, at(1)))).toEqual([at(2), at(3)]);
          expect(ids(await list({}, 2, at(3)))).toEqual([at(5)]);
        });

        it("filters by owner and external id", async () => {
          expect(ids(await list({ ownerId: "user_1" }))).toEqual([at(0), at(2), at(3)]);
          expect(ids(await list({ externalId: "acme" }))).toEqual([at(0), at(5)]);
          expect(ids(await list({ ownerId: "user_2", externalId: "acme" }))).toEqual([at(5)]);
        });

        it("filters by status as of the given time", async () => {
          expect(ids(await list({ status: "active" }))).toEqual([at(0), at(5)]);
          expect(ids(await list({ status: "disabled" }))).toEqual([at(1)]);
          expect(ids(await list({ status: "expired" }))).toEqual([at(2)]);
          expect(ids(await list({ status: "revoked" }))).toEqual([at(3)]);
          expect(ids(await list({ status: "expired", now: now + 120_000 }))).toEqual([at(2), at(5)]);
        });

        it("counts live keys and deletes all of a keyspace's keys", async () => {
          expect(await store.countLiveKeys(keyspaceId)).toBe(5);
          expect(await store.deleteKeysInKeyspace(keyspaceId)).toBe(6);
          expect(await store.countLiveKeys(keyspaceId)).toBe(0);
          expect(await store.getKey(at(6))).not.toBeNull();
        });
      });
    });
  });
}

async function expectAlreadyExists(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(DomainError);
  expect((error as DomainError).kind).toBe("already_exists");
}
