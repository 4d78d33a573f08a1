import type { UpdateFilter } from "mongodb";
import type { KeyRecord } from "../../domain/key.js";
import type { PermissionRecord, RoleRecord } from "../../domain/rbac.js";
import type { MongoTable, StoredDocument } from "../tables/mongodb.js";
import type { RbacStore } from "./index.js";

export function mongoRbac(tables: { roles: MongoTable<RoleRecord>; permissions: MongoTable<PermissionRecord>; keys: MongoTable<KeyRecord> }): RbacStore {
  const { roles, permissions, keys } = tables;
  return {
    roles,
    permissions,

    async changeKeyGrants(id, kind, change, names, at) {
      const update =
        change === "set"
          ? { $set: { [kind]: [...new Set(names)], updatedAt: at } }
          : change === "add"
            ? { $addToSet: { [kind]: { $each: [...names] } }, $set: { updatedAt: at } }
            : { $pull: { [kind]: { $in: [...names] } }, $set: { updatedAt: at } };
      // The driver's update types cannot follow a field name held in a variable.
      const document = await keys.collection.findOneAndUpdate({ _id: id, deletedAt: null, revokedAt: null }, update as UpdateFilter<StoredDocument>, {
        returnDocument: "after",
      });
      return keys.fromDocument(document);
    },

    async removeGrantEverywhere(workspaceId, kind, name, at) {
      const pull = (field: string) => ({ $pull: { [field]: name }, $set: { updatedAt: at } }) as unknown as UpdateFilter<StoredDocument>;
      await keys.collection.updateMany({ workspaceId, [kind]: name }, pull(kind));
      if (kind === "permissions") await roles.collection.updateMany({ workspaceId, permissions: name }, pull("permissions"));
    },
  };
}
