import { expect, it } from "vitest";
import { newId } from "../../../src/domain/ids.js";
import type { Store } from "../../../src/store/store.js";
import { identityRecord, keyspaceRecord, rootKeyRecord } from "../../support/fixtures.js";
import { describeContract, expectAlreadyExists } from "../describe-contract.js";

/** What every adapter's record tables (workspaces, root keys, keyspaces, identities, roles, permissions) must do. */
export function tablesContract(name: string, openStore: () => Promise<Store>) {
  describeContract(`Record tables contract: ${name}`, openStore, (store) => {
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
}
