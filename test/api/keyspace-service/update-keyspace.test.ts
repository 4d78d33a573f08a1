import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { newId } from "../../../src/domain/ids.js";
import { createKeyspace, expectCode, testApi } from "../../support/api.js";

describe("UpdateKeyspace", () => {
  it("OK: changes the masked fields only", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    api.clock.now += 5000;
    const { keyspace: updated } = await api.keyspaces.updateKeyspace({
      keyspace: { id: keyspace.id, name: "renamed", defaultPrefix: "ignored" },
      updateMask: { paths: ["name"] },
    });
    expect(updated).toMatchObject({ name: "renamed", defaultPrefix: "pay", startLength: 4 });
    expect(updated!.updatedAt!.seconds - keyspace.updatedAt!.seconds).toBe(5n);
  });

  it("OK: a masked field left unset goes back to its default", async () => {
    const api = testApi();
    const { keyspace } = await api.keyspaces.createKeyspace({ keyspace: { name: "p", startLength: 1 } });
    const { keyspace: updated } = await api.keyspaces.updateKeyspace({
      keyspace: { id: keyspace!.id },
      updateMask: { paths: ["start_length", "default_prefix"] },
    });
    expect(updated).toMatchObject({ startLength: 4, defaultPrefix: "lk" });
  });

  it("INVALID_ARGUMENT: missing id, empty or unknown mask, bad value", async () => {
    const api = testApi();
    const { id } = await createKeyspace(api);
    await expectCode(api.keyspaces.updateKeyspace({ updateMask: { paths: ["name"] } }), Code.InvalidArgument, "keyspace must be set");
    await expectCode(api.keyspaces.updateKeyspace({ keyspace: { name: "x" }, updateMask: { paths: ["name"] } }), Code.InvalidArgument, "keyspace.id");
    await expectCode(api.keyspaces.updateKeyspace({ keyspace: { id, name: "x" } }), Code.InvalidArgument, "update_mask must name");
    await expectCode(
      api.keyspaces.updateKeyspace({ keyspace: { id }, updateMask: { paths: ["name", "created_at"] } }),
      Code.InvalidArgument,
      "update_mask.paths[1] is not an updatable field",
    );
    await expectCode(api.keyspaces.updateKeyspace({ keyspace: { id, name: "" }, updateMask: { paths: ["name"] } }), Code.InvalidArgument, "keyspace.name");
    expect((await api.keyspaces.getKeyspace({ id })).keyspace!.name).toBe("payments");
  });

  it("NOT_FOUND: unknown keyspace", async () => {
    await expectCode(
      testApi().keyspaces.updateKeyspace({ keyspace: { id: newId("ks", Date.now()), name: "x" }, updateMask: { paths: ["name"] } }),
      Code.NotFound,
    );
  });
});
