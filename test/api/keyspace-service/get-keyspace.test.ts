import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { newId } from "../../../src/domain/ids.js";
import { createKeyspace, expectCode, testApi } from "../../support/api.js";

describe("GetKeyspace", () => {
  it("OK", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    expect((await api.keyspaces.getKeyspace({ id: keyspace.id })).keyspace).toEqual(keyspace);
  });

  it("INVALID_ARGUMENT: empty or malformed id", async () => {
    const api = testApi();
    await expectCode(api.keyspaces.getKeyspace({ id: "" }), Code.InvalidArgument, "id must not be empty");
    await expectCode(api.keyspaces.getKeyspace({ id: "ks_nope" }), Code.InvalidArgument, "id is not a keyspace id");
    await expectCode(api.keyspaces.getKeyspace({ id: newId("key", Date.now()) }), Code.InvalidArgument, "id is not a keyspace id");
  });

  it("NOT_FOUND: unknown id", async () => {
    const id = newId("ks", Date.now());
    await expectCode(testApi().keyspaces.getKeyspace({ id }), Code.NotFound, `keyspace ${id} not found`);
  });
});
