import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { MANAGEMENT_PERMISSIONS } from "../../../src/domain/access.js";
import { digestSecret } from "../../../src/domain/secret.js";
import { MemoryStore } from "../../../src/store/memory.js";
import { bearer, TEST_ADMIN_TOKEN } from "../../support/auth.js";
import { expectCode, testApi } from "../../support/api.js";

describe("CreateWorkspace", () => {
  it("OK: makes a workspace and its first root key, holding every permission, shown once", async () => {
    const api = testApi();
    const admin = api.withInterceptors([bearer(TEST_ADMIN_TOKEN)]).workspaces;
    const created = await admin.createWorkspace({ workspace: { name: "Acme" }, rootKeyName: "first" });
    expect(created.workspace).toMatchObject({ name: "Acme" });
    expect(created.workspace!.id).toMatch(/^ws_/);
    expect(created.rootKey).toMatchObject({ name: "first", permissions: [...MANAGEMENT_PERMISSIONS], createdBy: "admin", keyspaceIds: [] });
    expect(created.rootKeySecret).toMatch(/^root_/);
    expect(created.rootKeySecret.startsWith(created.rootKey!.start)).toBe(true);
    const stored = await api.store.rootKeys.find({ id: created.rootKey!.id });
    expect(stored!.hash).toBe(digestSecret(created.rootKeySecret));
    expect(JSON.stringify(stored)).not.toContain(created.rootKeySecret);
    expect((await api.as(created.rootKeySecret).workspaces.getWorkspace({})).workspace!.id).toBe(created.workspace!.id);
  });

  it("INVALID_ARGUMENT: no workspace, no name, or a name past 128 characters once its blanks are counted", async () => {
    const admin = testApi().withInterceptors([bearer(TEST_ADMIN_TOKEN)]).workspaces;
    await expectCode(admin.createWorkspace({}), Code.InvalidArgument, "workspace must be set");
    await expectCode(admin.createWorkspace({ workspace: { name: " " } }), Code.InvalidArgument, "workspace.name must be 1 to 128 characters");
    await expectCode(
      admin.createWorkspace({ workspace: { name: `${"n".repeat(128)}${" ".repeat(1000)}` } }),
      Code.InvalidArgument,
      "workspace.name must be 1 to 128 characters",
    );
    await admin.createWorkspace({ workspace: { name: "n".repeat(128) } });
  });
});

describe("CreateWorkspace when storage fails", () => {
  it("INTERNAL: leaves no workspace behind when its root key cannot be written", async () => {
    const store = new MemoryStore();
    const api = testApi(store);
    const admin = api.withInterceptors([bearer(TEST_ADMIN_TOKEN)]).workspaces;
    store.rootKeys.insert = async () => {
      throw new Error("disk full");
    };
    await expectCode(admin.createWorkspace({ workspace: { name: "Acme" } }), Code.Internal, "internal error");
    expect(await store.workspaces.list({}, { limit: 10 })).toEqual([]);
  });
});
