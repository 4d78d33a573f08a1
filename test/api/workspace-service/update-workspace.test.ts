import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { expectCode, testApi } from "../../support/api.js";

describe("GetWorkspace and UpdateWorkspace", () => {
  it("OK: reads and renames the caller's own workspace", async () => {
    const api = testApi();
    const { workspaceId } = await api.workspace();
    expect((await api.workspaces.getWorkspace({})).workspace).toMatchObject({ id: workspaceId, name: "test workspace" });
    const { workspace } = await api.workspaces.updateWorkspace({ workspace: { name: "Renamed" }, updateMask: { paths: ["name"] } });
    expect(workspace).toMatchObject({ id: workspaceId, name: "Renamed" });
  });

  it("INVALID_ARGUMENT: no mask, an unknown path, or an empty name", async () => {
    const api = testApi();
    await expectCode(api.workspaces.updateWorkspace({ workspace: { name: "x" } }), Code.InvalidArgument, "update_mask must name at least one field");
    await expectCode(api.workspaces.updateWorkspace({ workspace: { name: "x" }, updateMask: { paths: ["id"] } }), Code.InvalidArgument);
    await expectCode(api.workspaces.updateWorkspace({ workspace: { name: "" }, updateMask: { paths: ["name"] } }), Code.InvalidArgument);
  });
});
