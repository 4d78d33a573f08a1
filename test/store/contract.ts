import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { creditBalance } from "../../src/domain/credits.js";
import { DomainError } from "../../src/domain/errors.js";
import { newId } from "../../src/domain/ids.js";
import { issueSecret } from "../../src/domain/secret.js";
import type { AuditEventRecord, AuditFilter } from "../../src/domain/audit.js";
import type { KeyRecord } from "../../src/domain/key.js";
import type { Store } from "../../src/store/store.js";
import { identityRecord, keyRecord, keyspaceRecord, rootKeyRecord } from "../support/fixtures.js";

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

    describe("record tables", () => {
      it("stores, finds, updates and deletes a record by field equality", async () => {
        const keyspace = keyspaceRecord();
        await store.keyspaces.insert(keyspace);
        expect(await store.keyspaces.find({ id: keyspace.id })).toEqual(keyspace);
        expect(await store.keyspaces.find({ id: keyspace.id, workspaceId: newId("ws", Date.now()) })).toBeNull();
        const updated = await store.keyspaces.update({ id: keyspace.id }, { name: "renamed", startLength: 2 });
        expect(updated).toEqual({ ...keyspace, name: "renamed", startLength: 2 });
        expect(await store.keyspaces.find({ id: keyspace.id })).toEqual(updated);
        expect(await store.keyspaces.update({ id: newId("ks", Date.now()) }, { name: "x" })).toBeNull();
        expect(await store.keyspaces.delete({ id: keyspace.id })).toEqual(updated);
        expect(await store.keyspaces.find({ id: keyspace.id })).toBeNull();
        expect(await store.keyspaces.delete({ id: keyspace.id })).toBeNull();
      });

      it("refuses a second record with the same id or unique fields, and skips them in insertMissing", async () => {
        const keyspace = keyspaceRecord();
        await store.keyspaces.insert(keyspace);
        await expectAlreadyExists(store.keyspaces.insert({ ...keyspace, name: "other" }));
        const workspaceId = newId("ws", Date.now());
        const identity = identityRecord({ workspaceId, externalId: "acme" });
        await store.identities.insert(identity);
        await expectAlreadyExists(store.identities.insert(identityRecord({ workspaceId, externalId: "acme" })));
        await store.identities.insert(identityRecord({ externalId: "acme" }));
        const role = (name: string) => ({ id: newId("perm", Date.now()), workspaceId, name, description: "", createdAt: new Date() });
        await store.permissions.insertMissing([role("a"), role("b")]);
        await store.permissions.insertMissing([role("b"), role("c"), role("a")]);
        const names = (await store.permissions.list({ workspaceId }, { limit: 10 })).map((permission) => permission.name);
        expect(names.sort()).toEqual(["a", "b", "c"]);
      });

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

      it("keeps JSON with awkward field names and matches any of several values", async () => {
        const workspaceId = newId("ws", Date.now());
        const identity = identityRecord({ workspaceId, meta: { "a.b": 1, $c: { d: [true, null] } } });
        await store.identities.insert(identity);
        expect(await store.identities.find({ workspaceId, externalId: identity.externalId })).toEqual(identity);
        const other = identityRecord({ workspaceId, externalId: "other" });
        await store.identities.insert(other);
        const found = await store.identities.list({ workspaceId, externalId: [identity.externalId, other.externalId, "none"] }, { limit: 10 });
        expect(found.map((record) => record.id).sort()).toEqual([identity.id, other.id].sort());
      });

      it("lists in id order, page by page, within the match", async () => {
        const workspaceId = newId("ws", Date.now());
        const base = Date.now() + 10_000_000;
        const created = [0, 1, 2, 3, 4].map((i) => keyspaceRecord({ id: newId("ks", base + i), workspaceId }));
        for (const keyspace of [...created].reverse()) await store.keyspaces.insert(keyspace);
        await store.keyspaces.insert(keyspaceRecord({ id: newId("ks", base + 2) }));
        const all = await store.keyspaces.list({ workspaceId }, { limit: 1000 });
        expect(all.map((keyspace) => keyspace.id)).toEqual(created.map((keyspace) => keyspace.id));
        const page = await store.keyspaces.list({ workspaceId }, { after: created[1]!.id, limit: 2 });
        expect(page.map((keyspace) => keyspace.id)).toEqual([created[2]!.id, created[3]!.id]);
      });

      it("matches null fields", async () => {
        const workspaceId = newId("ws", Date.now());
        const live = rootKeyRecord({ workspaceId });
        const revoked = rootKeyRecord({ workspaceId, revokedAt: new Date() });
        await store.rootKeys.insert(live);
        await store.rootKeys.insert(revoked);
        expect((await store.rootKeys.list({ workspaceId, revokedAt: null }, { limit: 10 })).map((key) => key.id)).toEqual([live.id]);
        expect(await store.rootKeys.update({ id: revoked.id, revokedAt: null }, { revokedAt: new Date() })).toBeNull();
        await expectAlreadyExists(store.rootKeys.insert(rootKeyRecord({ hash: live.hash })));
      });
    });

    describe("grants", () => {
      it("adds, removes and sets a key's roles and permissions, idempotently", async () => {
        const key = keyRecord({ roles: ["a"], permissions: ["x"] });
        await store.insertKey(key);
        const at = new Date(Date.now() + 1000);
        expect((await store.changeKeyGrants(key.id, "roles", "add", ["b", "a", "b"], at))!.roles).toEqual(["a", "b"]);
        expect((await store.changeKeyGrants(key.id, "roles", "add", ["b"], at))!.roles).toEqual(["a", "b"]);
        expect((await store.changeKeyGrants(key.id, "roles", "remove", ["a", "z"], at))!.roles).toEqual(["b"]);
        const set = await store.changeKeyGrants(key.id, "permissions", "set", ["y", "z", "y"], at);
        expect(set).toMatchObject({ permissions: ["y", "z"], roles: ["b"], updatedAt: at });
        await store.updateKey(key.id, { revokedAt: at }, {});
        expect(await store.changeKeyGrants(key.id, "roles", "add", ["c"], at)).toBeNull();
        expect(await store.changeKeyGrants(newId("key", Date.now()), "roles", "add", ["c"], at)).toBeNull();
      });

      it("loses no name when many adds race", async () => {
        const key = keyRecord();
        await store.insertKey(key);
        const names = Array.from({ length: 20 }, (_, i) => `p${i}`);
        await Promise.all(names.map((name) => store.changeKeyGrants(key.id, "permissions", "add", [name], new Date())));
        expect((await store.getKey(key.id))!.permissions.sort()).toEqual([...names].sort());
      });

      it("takes a role or permission from every key and role of the workspace, and only that workspace", async () => {
        const workspaceId = newId("ws", Date.now());
        const ours = keyRecord({ workspaceId, roles: ["admin", "viewer"], permissions: ["x", "y"] });
        const theirs = keyRecord({ roles: ["admin"], permissions: ["x"] });
        await store.insertKey(ours);
        await store.insertKey(theirs);
        const role = { id: newId("role", Date.now()), workspaceId, name: "viewer", description: "", permissions: ["x", "z"], createdAt: new Date(), updatedAt: new Date() };
        await store.roles.insert(role);
        const at = new Date();
        await store.removeGrantEverywhere(workspaceId, "roles", "admin", at);
        await store.removeGrantEverywhere(workspaceId, "permissions", "x", at);
        expect(await store.getKey(ours.id)).toMatchObject({ roles: ["viewer"], permissions: ["y"] });
        expect(await store.getKey(theirs.id)).toMatchObject({ roles: ["admin"], permissions: ["x"] });
        expect((await store.roles.find({ id: role.id }))!.permissions).toEqual(["z"]);
      });

      it("counts an identity's live keys by external id within its workspace", async () => {
        const workspaceId = newId("ws", Date.now());
        await store.insertKey(keyRecord({ workspaceId, externalId: "acme" }));
        await store.insertKey(keyRecord({ workspaceId, externalId: "acme", deletedAt: new Date() }));
        await store.insertKey(keyRecord({ externalId: "acme" }));
        expect(await store.countLiveKeysOfIdentity(workspaceId, "acme")).toBe(1);
      });
    });

    describe("audit events", () => {
      it("appends events and lists them by workspace, actor, action, target and time, in order", async () => {
        const workspaceId = newId("ws", Date.now());
        const base = Date.now() + 20_000_000;
        const event = (i: number, overrides: Partial<AuditEventRecord> = {}): AuditEventRecord => ({
          id: newId("evt", base + i),
          workspaceId,
          at: new Date(base + i),
          actor: "rk_a",
          action: "key.create",
          targetIds: [`key_${i}`],
          summary: { "odd.name": i },
          peerAddress: "127.0.0.1",
          userAgent: "test",
          outcome: "ok",
          ...overrides,
        });
        const events = [event(0), event(1, { actor: "rk_b" }), event(2, { action: "key.revoke", targetIds: ["key_0", "ks_1"] }), event(3)];
        for (const e of [...events].reverse()) await store.appendAuditEvent(e);
        await store.appendAuditEvent(event(4, { workspaceId: newId("ws", Date.now()) }));
        const list = async (filter: Partial<AuditFilter>, limit = 10) =>
          (await store.listAuditEvents({ workspaceId, ...filter }, { limit })).map((e) => e.id);
        expect(await store.listAuditEvents({ workspaceId }, { limit: 10 })).toEqual(events);
        expect(await list({ actor: "rk_b" })).toEqual([events[1]!.id]);
        expect(await list({ action: "key.revoke" })).toEqual([events[2]!.id]);
        expect(await list({ targetId: "key_0" })).toEqual([events[0]!.id, events[2]!.id]);
        expect(await list({ from: new Date(base + 1), to: new Date(base + 3) })).toEqual([events[1]!.id, events[2]!.id]);
        expect(await store.listAuditEvents({ workspaceId }, { after: events[1]!.id, limit: 1 })).toEqual([events[2]]);
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

      it("finds a workspace's keys by many digests at once, a rerolled key by its previous secret too, once each, and no other workspace's", async () => {
        const rerolled = keyRecord();
        const plain = keyRecord({ workspaceId: rerolled.workspaceId });
        const theirs = keyRecord({ workspaceId: newId("ws", Date.now()), hash: plain.hash });
        for (const key of [rerolled, plain, theirs]) await store.insertKey(key);
        const next = { hash: issueSecret("pay", 16, 4).digest, start: "pay_n" };
        await store.replaceSecret(rerolled.id, rerolled.hash, next, { hash: rerolled.hash, start: rerolled.start, expiresAt: new Date(Date.now() + 60_000) }, new Date());
        const found = await store.findKeysByHashes(rerolled.workspaceId, [rerolled.hash, next.hash, plain.hash, "0".repeat(64)]);
        expect(found.map((key) => key.id).sort()).toEqual([rerolled.id, plain.id].sort());
        expect(found.find((key) => key.id === rerolled.id)!.hash).toBe(next.hash);
        expect(await store.findKeysByHashes(rerolled.workspaceId, [])).toEqual([]);
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
        expect(await store.replaceSecret(elsewhere.id, elsewhere.hash, { hash: key.hash, start: "x" }, { ...previous, hash: elsewhere.hash }, new Date())).not.toBeNull();
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

        it("updates the balance without losing concurrent spends, stops a decrement at 0, and keeps or replaces the refill", async () => {
          const key = withCredits(100);
          await store.insertKey(key);
          await Promise.all([
            ...Array.from({ length: 30 }, () => store.spendCredits(key.id, 1)),
            ...Array.from({ length: 10 }, () => store.updateCredits(key.id, { operation: "increment", value: 5, refill: undefined })),
            ...Array.from({ length: 4 }, () => store.updateCredits(key.id, { operation: "decrement", value: 3, refill: undefined })),
          ]);
          expect((await store.getKey(key.id))!.credits).toEqual({ remaining: 100 - 30 + 50 - 12, refill: key.credits!.refill });
          expect((await store.updateCredits(key.id, { operation: "decrement", value: 1000, refill: undefined }))!.credits!.remaining).toBe(0);
          const refill = { period: "interval" as const, intervalMs: 60_000, dayOfMonth: 0, amount: 9, lastRefillAt: new Date(1000) };
          expect((await store.updateCredits(key.id, { operation: "set", value: 42, refill }))!.credits).toEqual({ remaining: 42, refill });
          expect((await store.updateCredits(key.id, { operation: "increment", value: 1, refill: null }))!.credits).toEqual({ remaining: 43, refill: null });
          expect((await store.updateCredits(key.id, { operation: "set", value: null, refill: undefined }))!.credits).toBeNull();
        });

        it("gives credits to a key without them only by SET, and changes nothing of deleted, revoked or missing keys", async () => {
          const unlimited = keyRecord();
          await store.insertKey(unlimited);
          await expect(store.updateCredits(unlimited.id, { operation: "increment", value: 1, refill: undefined })).rejects.toMatchObject({ reason: "NO_CREDITS" });
          expect((await store.updateCredits(unlimited.id, { operation: "set", value: 7, refill: undefined }))!.credits).toEqual({ remaining: 7, refill: null });
          const revoked = withCredits(5);
          await store.insertKey({ ...revoked, revokedAt: new Date() });
          expect(await store.updateCredits(revoked.id, { operation: "set", value: 1, refill: undefined })).toBeNull();
          expect((await store.getKey(revoked.id))!.credits!.remaining).toBe(5);
          expect(await store.updateCredits(newId("key", Date.now()), { operation: "set", value: 1, refill: undefined })).toBeNull();
        });

        it("refuses a cost above the balance without spending", async () => {
          const key = withCredits(5);
          await store.insertKey(key);
          expect(await store.spendCredits(key.id, 6)).toEqual({ spent: false, remaining: 5, unshared: 5 });
          expect(await store.spendCredits(key.id, 5)).toEqual({ spent: true, remaining: 0, unshared: 0 });
        });

        describe("shares", () => {
          const inAMinute = () => new Date(Date.now() + 60_000);
          const shares = async (id: string) => (await store.getKey(id))!.credits!.shares ?? {};

          it("hands out no more than the balance to holders taking and claiming at once", async () => {
            const key = withCredits(1000);
            await store.insertKey(key);
            const holders = ["h1", "h2", "h3", "h4"];
            const taken = await Promise.all(holders.map((holder) => store.takeCreditShare(key.id, holder, 300, 50, inAMinute())));
            expect(taken.filter(Boolean)).toHaveLength(3);
            const claims = await Promise.all(
              holders.flatMap((holder) => Array.from({ length: 20 }, () => store.claimCredits(key.id, holder, 30, inAMinute()).then((ok) => (ok ? 30 : 0)))),
            );
            const claimed = claims.reduce<number>((sum, units) => sum + units, 0);
            expect(claimed).toBe(3 * 240);
            const credits = (await store.getKey(key.id))!.credits!;
            expect(credits.remaining).toBe(100);
            expect(Object.values(credits.shares!).map((share) => share.unclaimed)).toEqual([10, 10, 10]);
            expect(await store.spendCredits(key.id, 101)).toEqual({ spent: false, remaining: 130, unshared: 100 });
            expect(await store.spendCredits(key.id, 100)).toEqual({ spent: true, remaining: 30, unshared: 0 });
          });

          it("gives a share back with what it still holds and the units claimed and not spent, once", async () => {
            const key = withCredits(1000);
            await store.insertKey(key);
            expect(await store.takeCreditShare(key.id, "h1", 100, 10, inAMinute())).toBe(true);
            await store.updateCredits(key.id, { operation: "decrement", value: 905, refill: undefined });
            expect(await store.returnCreditShare(key.id, "h1", 4)).toBe(true);
            expect((await store.getKey(key.id))!.credits!.remaining).toBe(1000 - 905 - 10 + 4);
            expect(await shares(key.id)).toEqual({});
            expect(await store.returnCreditShare(key.id, "h1", 4)).toBe(false);
            expect(await store.claimCredits(key.id, "h1", 1, inAMinute())).toBe(false);
          });

          it("voids shares on SET and on a refill; INCREMENT keeps them, DECREMENT takes from them past the unshared balance", async () => {
            const key = withCredits(1000);
            await store.insertKey(key);
            await store.takeCreditShare(key.id, "h1", 100, 0, inAMinute());
            await store.takeCreditShare(key.id, "h2", 100, 0, inAMinute());
            await store.updateCredits(key.id, { operation: "increment", value: 5, refill: undefined });
            const unclaimed = async () => Object.values(await shares(key.id)).map((share) => share.unclaimed);
            expect(await unclaimed()).toEqual([100, 100]);
            expect((await store.updateCredits(key.id, { operation: "decrement", value: 805, refill: undefined }))!.credits!.remaining).toBe(0);
            expect(await unclaimed()).toEqual([100, 100]);
            const decremented = await store.updateCredits(key.id, { operation: "decrement", value: 130, refill: undefined });
            expect(decremented!.credits!.remaining).toBe(0);
            expect(creditBalance(decremented!.credits!)).toBe(70);
            expect(await store.claimCredits(key.id, "h1", 1, inAMinute())).toBe(false);
            expect(await store.claimCredits(key.id, "h2", 70, inAMinute())).toBe(true);
            expect((await store.updateCredits(key.id, { operation: "decrement", value: 1, refill: undefined }))!.credits!.remaining).toBe(0);

            expect((await store.updateCredits(key.id, { operation: "set", value: 500, refill: undefined }))!.credits).toEqual({ remaining: 500, refill: key.credits!.refill });
            expect(await store.returnCreditShare(key.id, "h2", 70)).toBe(false);
            await store.takeCreditShare(key.id, "h3", 20, 0, inAMinute());
            expect(await store.refillCredits(key.id, new Date(86_400_000), 7)).toBe(true);
            expect((await store.getKey(key.id))!.credits!.shares ?? {}).toEqual({});
            expect(await store.claimCredits(key.id, "h3", 1, inAMinute())).toBe(false);
          });

          it("takes back only shares that expired, leaving them empty for their holders to end; a claim keeps a share from expiring", async () => {
            const key = withCredits(1000);
            await store.insertKey(key);
            const past = new Date(Date.now() - 60_000);
            await store.takeCreditShare(key.id, "slow", 100, 10, past);
            await store.takeCreditShare(key.id, "alive", 100, 10, past);
            await store.claimCredits(key.id, "alive", 10, inAMinute());
            expect(await store.reclaimCreditShares(key.id, new Date())).toBe(90);
            expect(await store.reclaimCreditShares(key.id, new Date())).toBe(0);
            expect((await store.getKey(key.id))!.credits!.remaining).toBe(890);
            expect((await shares(key.id)).slow!.unclaimed).toBe(0);
            expect(await store.claimCredits(key.id, "slow", 1, inAMinute())).toBe(false);
            expect(await store.returnCreditShare(key.id, "slow", 6)).toBe(true);
            expect((await store.getKey(key.id))!.credits!.remaining).toBe(896);
            expect(await store.claimCredits(key.id, "alive", 80, inAMinute())).toBe(true);
          });

          it("shares nothing of a deleted key", async () => {
            const key = withCredits(1000);
            await store.insertKey(key);
            await store.updateKey(key.id, { deletedAt: new Date() }, {});
            expect(await store.takeCreditShare(key.id, "h1", 100, 10, inAMinute())).toBe(false);
          });
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

      describe("rate-limit windows", () => {
        const window = (limit: number, endsAt = new Date(Date.now() + 60_000)) => ({ id: `w_${newId("key", Date.now())}`, limit, endsAt });

        it("counts up to the limit and no further, however many reserve at once", async () => {
          const shared = window(100);
          const results = await Promise.all(Array.from({ length: 40 }, () => store.reserveRateLimit(shared, 7)));
          expect(results.reduce((sum, result) => sum + result.granted, 0)).toBe(100);
          expect(results.every((result) => result.granted === 7 || result.granted < 7)).toBe(true);
          expect(await store.reserveRateLimit(shared, 1)).toEqual({ granted: 0, used: 100 });
          expect((await store.reserveRateLimit(window(100), 1)).granted).toBe(1);
          const counts = await store.countRateLimits([shared, window(100)]);
          expect([...counts]).toEqual([[shared.id, 100]]);
        });

        it("prunes windows that ended", async () => {
          const ended = window(5, new Date(Date.now() - 120_000));
          await store.reserveRateLimit(ended, 5);
          await store.pruneRateLimits(new Date(Date.now() - 60_000));
          expect(await store.reserveRateLimit(ended, 5)).toEqual({ granted: 5, used: 5 });
        });
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
