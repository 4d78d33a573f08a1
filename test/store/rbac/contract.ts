import { expect, it } from "vitest";
import { newId } from "../../../src/domain/ids.js";
import type { Store } from "../../../src/store/store.js";
import { keyRecord } from "../../support/fixtures.js";
import { describeContract } from "../describe-contract.js";

/** What every adapter's RbacStore must do: grants of roles and permissions on keys and roles. */
export function rbacContract(name: string, openStore: () => Promise<Store>) {
  describeContract(`RbacStore contract: ${name}`, openStore, (store) => {
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
      const role = {
        id: newId("role", Date.now()),
        workspaceId,
        name: "viewer",
        description: "",
        permissions: ["x", "z"],
        createdAt: new Date(),
        updatedAt: new Date(),
      };
      await store.roles.insert(role);
      const at = new Date();
      await store.removeGrantEverywhere(workspaceId, "roles", "admin", at);
      await store.removeGrantEverywhere(workspaceId, "permissions", "x", at);
      expect(await store.getKey(ours.id)).toMatchObject({ roles: ["viewer"], permissions: ["y"] });
      expect(await store.getKey(theirs.id)).toMatchObject({ roles: ["admin"], permissions: ["x"] });
      expect((await store.roles.find({ id: role.id }))!.permissions).toEqual(["z"]);
    });
  });
}
