import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { KeyStatus } from "../../../gen/latchkey/v1/key_pb.js";
import { issueSecret } from "../../../src/domain/secret.js";
import { createKeyspace, expectCode, testApi } from "../../support/api.js";

describe("WhoAmI", () => {
  it("OK: names the key of a secret without verifying it: nothing spent, and revoked keys answered too", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const { key, secret } = await api.keys.createKey({ key: { keyspaceId: keyspace.id, name: "ci", credits: { remaining: 1n } } });
    for (let i = 0; i < 3; i++) expect((await api.keys.whoAmI({ key: secret })).key).toMatchObject({ id: key!.id, name: "ci", credits: { remaining: 1n } });
    await api.keys.revokeKey({ id: key!.id });
    expect((await api.keys.whoAmI({ key: secret })).key).toMatchObject({ id: key!.id, status: KeyStatus.REVOKED });
  });

  it("NOT_FOUND: an unknown secret, a deleted key, another workspace's key, a key outside a narrowed root key's keyspaces", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const other = await createKeyspace(api, "other", "oth");
    const { key: deleted, secret: deletedSecret } = await api.keys.createKey({ key: { keyspaceId: keyspace.id } });
    await api.keys.deleteKey({ id: deleted!.id });
    const { secret: elsewhere } = await api.keys.createKey({ key: { keyspaceId: other.id } });
    const { secret: narrowSecret } = await api.rootKeys.createRootKey({ rootKey: { name: "narrow", permissions: ["key.read"], keyspaceIds: [keyspace.id] } });
    const message = "no key this root key may read has this secret";
    await expectCode(api.keys.whoAmI({ key: issueSecret("pay", 16, 4).secret }), Code.NotFound, message);
    await expectCode(api.keys.whoAmI({ key: deletedSecret }), Code.NotFound, message);
    await expectCode(api.as(narrowSecret).keys.whoAmI({ key: elsewhere }), Code.NotFound, message);
    const foreign = testApi(api.store);
    await foreign.workspace();
    await expectCode(foreign.keys.whoAmI({ key: elsewhere }), Code.NotFound, message);
  });

  it("INVALID_ARGUMENT: an empty or overlong secret", async () => {
    const api = testApi();
    await expectCode(api.keys.whoAmI({ key: "" }), Code.InvalidArgument, "key");
    await expectCode(api.keys.whoAmI({ key: "x".repeat(1025) }), Code.InvalidArgument, "key");
  });
});
