import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { newId } from "../../../src/domain/ids.js";
import { digestSecret } from "../../../src/domain/secret.js";
import { createKeyspace, expectCode, testApi } from "../../support/api.js";

describe("DeleteKey", () => {
  it("OK: a soft delete hides the key but keeps its digest taken", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const { key, secret } = await api.keys.createKey({ key: { keyspaceId: keyspace.id } });
    await api.keys.deleteKey({ id: key!.id });
    await expectCode(api.keys.getKey({ id: key!.id }), Code.NotFound);
    expect((await api.keys.listKeys({ keyspaceId: keyspace.id })).keys).toEqual([]);
    const kept = await api.store.findKeyByHash((await api.workspace()).workspaceId, digestSecret(secret));
    expect(kept?.deletedAt?.getTime()).toBe(api.clock.now);
    await expectCode(api.keys.deleteKey({ id: key!.id }), Code.NotFound);
  });

  it("OK: a permanent delete removes the record, also after a soft delete", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const first = await api.keys.createKey({ key: { keyspaceId: keyspace.id } });
    await api.keys.deleteKey({ id: first.key!.id, permanent: true });
    expect(await api.store.getKey(first.key!.id)).toBeNull();
    const second = await api.keys.createKey({ key: { keyspaceId: keyspace.id } });
    await api.keys.deleteKey({ id: second.key!.id });
    await api.keys.deleteKey({ id: second.key!.id, permanent: true });
    expect(await api.store.findKeyByHash((await api.workspace()).workspaceId, digestSecret(second.secret))).toBeNull();
  });

  it("INVALID_ARGUMENT and NOT_FOUND", async () => {
    const api = testApi();
    await expectCode(api.keys.deleteKey({ id: "ks_1" }), Code.InvalidArgument, "id is not a key id");
    await expectCode(api.keys.deleteKey({ id: newId("key", Date.now()) }), Code.NotFound);
    await expectCode(api.keys.deleteKey({ id: newId("key", Date.now()), permanent: true }), Code.NotFound);
  });
});
