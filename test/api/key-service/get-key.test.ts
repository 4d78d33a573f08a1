import { Code } from "@connectrpc/connect";
import { toJsonString } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { GetKeyResponseSchema, KeyStatus } from "../../../gen/latchkey/v1/key_pb.js";
import { newId } from "../../../src/domain/ids.js";
import { createKeyspace, expectCode, testApi } from "../../support/api.js";

describe("GetKey", () => {
  it("OK: never shows the secret again", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const created = await api.keys.createKey({ key: { keyspaceId: keyspace.id } });
    const response = await api.keys.getKey({ id: created.key!.id });
    expect(response.key).toEqual(created.key);
    expect(toJsonString(GetKeyResponseSchema, response)).not.toContain(created.secret.slice(8));
  });

  it("OK: reports EXPIRED from the millisecond the key expires", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const { key } = await api.keys.createKey({
      key: { keyspaceId: keyspace.id, expiresAt: { seconds: BigInt(Math.floor(api.clock.now / 1000) + 10) } },
    });
    api.clock.now = Math.floor(api.clock.now / 1000) * 1000 + 9999;
    expect((await api.keys.getKey({ id: key!.id })).key).toMatchObject({ status: KeyStatus.ACTIVE, expired: false });
    api.clock.now += 1;
    expect((await api.keys.getKey({ id: key!.id })).key).toMatchObject({ status: KeyStatus.EXPIRED, expired: true });
  });

  it("INVALID_ARGUMENT: empty or malformed id", async () => {
    const api = testApi();
    await expectCode(api.keys.getKey({ id: "" }), Code.InvalidArgument, "id must not be empty");
    await expectCode(api.keys.getKey({ id: "key_x" }), Code.InvalidArgument, "id is not a key id");
  });

  it("NOT_FOUND: unknown or deleted key", async () => {
    const api = testApi();
    await expectCode(api.keys.getKey({ id: newId("key", Date.now()) }), Code.NotFound);
    const keyspace = await createKeyspace(api);
    const { key } = await api.keys.createKey({ key: { keyspaceId: keyspace.id } });
    await api.keys.deleteKey({ id: key!.id });
    await expectCode(api.keys.getKey({ id: key!.id }), Code.NotFound, `key ${key!.id} not found`);
  });
});
