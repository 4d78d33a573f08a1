import { beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../../src/domain/ids.js";
import type { KeyRecord } from "../../../src/domain/key.js";
import { issueSecret } from "../../../src/domain/secret.js";
import type { Store } from "../../../src/store/store.js";
import { keyRecord } from "../../support/fixtures.js";
import { describeContract, expectAlreadyExists } from "../describe-contract.js";

/** What every adapter's keys must do: KeyStore, KeyUseRecorder, DigestSource and SealedSecretStore. */
export function keysContract(name: string, openStore: () => Promise<Store>) {
  describeContract(`KeyStore contract: ${name}`, openStore, (store) => {
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
      expect(await store.findKeyByHash(key.workspaceId, key.hash)).toEqual(key);
      expect(await store.findKeyByHash(key.workspaceId, "0".repeat(64))).toBeNull();
      expect(await store.findKeyByHash(newId("ws", Date.now()), key.hash)).toBeNull();
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

    it("refuses a second key with the same id, or the same digest in the workspace, even after a soft delete", async () => {
      const key = keyRecord();
      await store.insertKey(key);
      await store.updateKey(key.id, { deletedAt: new Date() }, { notDeleted: true });
      await expectAlreadyExists(store.insertKey(keyRecord({ workspaceId: key.workspaceId, hash: key.hash })));
      await expectAlreadyExists(store.insertKey(keyRecord({ id: key.id })));
    });

    it("keeps digests apart per workspace: the same digest in another workspace is another key, found only there", async () => {
      const ours = keyRecord();
      const theirs = keyRecord({ workspaceId: newId("ws", Date.now()), hash: ours.hash });
      await store.insertKey(ours);
      await store.insertKey(theirs);
      expect((await store.findKeyByHash(ours.workspaceId, ours.hash))!.id).toBe(ours.id);
      expect((await store.findKeyByHash(theirs.workspaceId, ours.hash))!.id).toBe(theirs.id);
      await store.deleteKey(theirs.id);
      expect((await store.findKeyByHash(ours.workspaceId, ours.hash))!.id).toBe(ours.id);
      expect(await store.findKeyByHash(theirs.workspaceId, ours.hash)).toBeNull();
    });

    it("finds a workspace's keys by many ids at once, soft-deleted and rerolled ones as they are now, each once, and never another workspace's", async () => {
      const rerolled = keyRecord();
      const deleted = keyRecord({ workspaceId: rerolled.workspaceId });
      const theirs = keyRecord({ workspaceId: newId("ws", Date.now()) });
      for (const key of [rerolled, deleted, theirs]) await store.insertKey(key);
      const next = { hash: issueSecret("pay", 16, 4).digest, start: "pay_n" };
      const previous = { hash: rerolled.hash, start: rerolled.start, expiresAt: new Date(Date.now() + 60_000) };
      await store.replaceSecret(rerolled.id, rerolled.hash, next, previous, new Date());
      await store.updateKey(deleted.id, { deletedAt: new Date() }, { notDeleted: true });
      const missing = newId("key", Date.now());
      const found = await store.findKeysByIds(rerolled.workspaceId, [rerolled.id, deleted.id, theirs.id, missing, rerolled.id]);
      expect(found.map((key) => key.id).sort()).toEqual([rerolled.id, deleted.id].sort());
      expect(found.find((key) => key.id === rerolled.id)).toEqual(await store.getKey(rerolled.id));
      expect(found.find((key) => key.id === rerolled.id)).toMatchObject({ hash: next.hash, previousSecret: previous });
      expect(found.find((key) => key.id === deleted.id)!.deletedAt).not.toBeNull();
      expect(await store.findKeysByIds(theirs.workspaceId, [rerolled.id, deleted.id])).toEqual([]);
      expect((await store.findKeysByIds(theirs.workspaceId, [theirs.id])).map((key) => key.id)).toEqual([theirs.id]);
      expect(await store.findKeysByIds(rerolled.workspaceId, [])).toEqual([]);
    });

    it("refuses a key whose digest is a previous secret of the workspace, and a reroll to one; another workspace's are free", async () => {
      const key = keyRecord();
      await store.insertKey(key);
      const previous = { hash: key.hash, start: key.start, expiresAt: new Date(Date.now() + 60_000) };
      const next = { hash: issueSecret("pay", 16, 4).digest, start: "pay_e" };
      await store.replaceSecret(key.id, key.hash, next, previous, new Date());
      await expectAlreadyExists(store.insertKey(keyRecord({ workspaceId: key.workspaceId, hash: key.hash })));
      const sibling = keyRecord({ workspaceId: key.workspaceId });
      await store.insertKey(sibling);
      await expectAlreadyExists(store.replaceSecret(sibling.id, sibling.hash, { hash: key.hash, start: "x" }, { ...previous, hash: sibling.hash }, new Date()));
      const elsewhere = keyRecord({ workspaceId: newId("ws", Date.now()) });
      await store.insertKey(elsewhere);
      expect(
        await store.replaceSecret(elsewhere.id, elsewhere.hash, { hash: key.hash, start: "x" }, { ...previous, hash: elsewhere.hash }, new Date()),
      ).not.toBeNull();
      await store.insertKey(keyRecord({ workspaceId: newId("ws", Date.now()), hash: next.hash }));
    });

    it("frees the digest when a key is deleted permanently", async () => {
      const key = keyRecord();
      await store.insertKey(key);
      expect(await store.deleteKey(key.id)).toEqual(key);
      expect(await store.deleteKey(key.id)).toBeNull();
      expect(await store.findKeyByHash(key.workspaceId, key.hash)).toBeNull();
    });

    it("replaces a live key's secret once per current secret, and finds the key by either secret", async () => {
      const key = keyRecord();
      await store.insertKey(key);
      const previous = { hash: key.hash, start: key.start, expiresAt: new Date(Date.now() + 60_000) };
      const next = (n: string) => ({ hash: n.repeat(64), start: `pay_${n}` });
      const attempts = await Promise.all(["a", "b", "c"].map((n) => store.replaceSecret(key.id, key.hash, next(n), previous, new Date())));
      const winners = attempts.filter((result) => result !== null);
      expect(winners).toHaveLength(1);
      const current = winners[0]!;
      expect(current.previousSecret).toEqual(previous);
      expect((await store.findKeyByHash(key.workspaceId, current.hash))!.id).toBe(key.id);
      expect((await store.findKeyByHash(key.workspaceId, key.hash))!.id).toBe(key.id);
      const digests: string[] = [];
      for await (const digest of store.digests()) digests.push(digest);
      expect(digests).toEqual(expect.arrayContaining([key.hash, current.hash]));

      const other = keyRecord({ workspaceId: key.workspaceId });
      await store.insertKey(other);
      await expectAlreadyExists(store.replaceSecret(other.id, other.hash, { hash: current.hash, start: "x" }, { ...previous, hash: other.hash }, new Date()));
      await store.updateKey(other.id, { revokedAt: new Date() }, {});
      expect(await store.replaceSecret(other.id, other.hash, next("d"), { ...previous, hash: other.hash }, new Date())).toBeNull();
    });

    it("lists keys sealed with another key-encryption key, and replaces a sealed secret only while it is as read", async () => {
      const sealed = (kekId: string, ciphertext: string) => ({ kekId, iv: "aXY=", ciphertext, tag: "dGFn" });
      const old = keyRecord({ sealedSecret: sealed("contract-old", "b2xk") });
      const current = keyRecord({ sealedSecret: sealed("contract-new", "bmV3") });
      await store.insertKey(old);
      await store.insertKey(current);
      await store.insertKey(keyRecord());
      const listed = async () => (await store.keysSealedOtherwise("contract-new", { limit: 10_000 })).map((key) => key.id);
      expect(await listed()).toContain(old.id);
      expect(await listed()).not.toContain(current.id);
      expect(await store.replaceSealedSecret(old.id, sealed("contract-old", "c3RhbGU="), sealed("contract-new", "eA=="))).toBe(false);
      expect(await store.replaceSealedSecret(old.id, old.sealedSecret!, sealed("contract-new", "eA=="))).toBe(true);
      expect(await listed()).not.toContain(old.id);
      expect((await store.getKey(old.id))!.sealedSecret).toEqual(sealed("contract-new", "eA=="));
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
      const attempts = Array.from({ length: 20 }, (_, i) => store.updateKey(key.id, { revokedAt: new Date(), revokedBy: `actor-${i}` }, { notRevoked: true }));
      const winners = (await Promise.all(attempts)).filter((result) => result !== null);
      expect(winners).toHaveLength(1);
      expect((await store.getKey(key.id))!.revokedBy).toBe(winners[0]!.revokedBy);
    });

    it("counts an identity's live keys by external id within its workspace", async () => {
      const workspaceId = newId("ws", Date.now());
      await store.insertKey(keyRecord({ workspaceId, externalId: "acme" }));
      await store.insertKey(keyRecord({ workspaceId, externalId: "acme", deletedAt: new Date() }));
      await store.insertKey(keyRecord({ externalId: "acme" }));
      expect(await store.countLiveKeysOfIdentity(workspaceId, "acme")).toBe(1);
    });

    it("moves last_used_at forward only, and leaves updated_at alone", async () => {
      const key = keyRecord();
      await store.insertKey(key);
      await store.recordKeyUse([
        { id: key.id, at: new Date(2000) },
        { id: newId("key", 1), at: new Date(2000) },
      ]);
      await store.recordKeyUse([{ id: key.id, at: new Date(1000) }]);
      await store.recordKeyUse([]);
      const stored = (await store.getKey(key.id))!;
      expect(stored.lastUsedAt).toEqual(new Date(2000));
      expect(stored.updatedAt).toEqual(key.updatedAt);
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
}
