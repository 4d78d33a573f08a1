import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { newId } from "../../../src/domain/ids.js";
import { createKeyspace, expectCode, testApi } from "../../support/api.js";

describe("DeleteKeyspace", () => {
  it("OK: an empty keyspace goes", async () => {
    const api = testApi();
    const { id } = await createKeyspace(api);
    expect((await api.keyspaces.deleteKeyspace({ id })).deletedKeys).toBe(0n);
    await expectCode(api.keyspaces.getKeyspace({ id }), Code.NotFound);
  });

  it("OK: soft-deleted keys do not hold a keyspace", async () => {
    const api = testApi();
    const { id } = await createKeyspace(api);
    const { key } = await api.keys.createKey({ key: { keyspaceId: id } });
    await api.keys.deleteKey({ id: key!.id });
    await api.keyspaces.deleteKeyspace({ id });
  });

  it("FAILED_PRECONDITION: the keyspace still holds keys", async () => {
    const api = testApi();
    const { id } = await createKeyspace(api);
    await api.keys.createKey({ key: { keyspaceId: id } });
    await expectCode(api.keyspaces.deleteKeyspace({ id }), Code.FailedPrecondition, `keyspace ${id} still holds 1 keys`);
    expect((await api.keyspaces.getKeyspace({ id })).keyspace!.id).toBe(id);
  });

  it("OK: force deletes the keys with it", async () => {
    const api = testApi();
    const { id } = await createKeyspace(api);
    const created = await Promise.all([1, 2, 3].map(() => api.keys.createKey({ key: { keyspaceId: id } })));
    expect((await api.keyspaces.deleteKeyspace({ id, force: true })).deletedKeys).toBe(3n);
    for (const { key } of created) await expectCode(api.keys.getKey({ id: key!.id }), Code.NotFound);
  });

  it("INVALID_ARGUMENT and NOT_FOUND", async () => {
    const api = testApi();
    await expectCode(api.keyspaces.deleteKeyspace({ id: "" }), Code.InvalidArgument, "id must not be empty");
    await expectCode(api.keyspaces.deleteKeyspace({ id: newId("ks", Date.now()) }), Code.NotFound);
  });
});
