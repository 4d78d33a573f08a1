import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { KeyStatus } from "../../../gen/latchkey/v1/key_pb.js";
import { newId } from "../../../src/domain/ids.js";
import { createKeyspace, expectCode, testApi, type TestApi } from "../../support/api.js";

async function seed(api: TestApi) {
  const keyspace = await createKeyspace(api);
  const other = await createKeyspace(api, "other");
  const make = async (key: object) => {
    api.clock.now += 1;
    return (await api.keys.createKey({ key: { keyspaceId: keyspace.id, ...key } })).key!.id;
  };
  const ids = {
    active: await make({ ownerId: "user_1", externalId: "acme" }),
    disabled: await make({ ownerId: "user_2", enabled: false }),
    expiring: await make({ ownerId: "user_1", expiresAt: { seconds: BigInt(Math.floor(api.clock.now / 1000) + 60) } }),
    revoked: await make({ ownerId: "user_1" }),
    deleted: await make({ ownerId: "user_2" }),
  };
  await api.keys.revokeKey({ id: ids.revoked, reason: "leaked" });
  await api.keys.deleteKey({ id: ids.deleted });
  await api.keys.createKey({ key: { keyspaceId: other.id, ownerId: "user_1" } });
  return { keyspace, ids };
}

describe("ListKeys", () => {
  it("OK: lists the keyspace's keys, revoked ones included and deleted ones not", async () => {
    const api = testApi();
    const { keyspace, ids } = await seed(api);
    const { keys, nextPageToken } = await api.keys.listKeys({ keyspaceId: keyspace.id });
    expect(keys.map((key) => key.id)).toEqual([ids.active, ids.disabled, ids.expiring, ids.revoked]);
    expect(nextPageToken).toBe("");
  });

  it("OK: filters by owner, external id and status", async () => {
    const api = testApi();
    const { keyspace, ids } = await seed(api);
    const list = async (filter: object) => (await api.keys.listKeys({ keyspaceId: keyspace.id, ...filter })).keys.map((key) => key.id);
    expect(await list({ ownerId: "user_1" })).toEqual([ids.active, ids.expiring, ids.revoked]);
    expect(await list({ externalId: "acme" })).toEqual([ids.active]);
    expect(await list({ status: KeyStatus.ACTIVE })).toEqual([ids.active, ids.expiring]);
    expect(await list({ status: KeyStatus.DISABLED })).toEqual([ids.disabled]);
    expect(await list({ status: KeyStatus.REVOKED })).toEqual([ids.revoked]);
    api.clock.now += 120_000;
    expect(await list({ status: KeyStatus.EXPIRED })).toEqual([ids.expiring]);
  });

  it("OK: pages keep a stable order while keys are added", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      api.clock.now += 1;
      ids.push((await api.keys.createKey({ key: { keyspaceId: keyspace.id } })).key!.id);
    }
    const first = await api.keys.listKeys({ keyspaceId: keyspace.id, pageSize: 2 });
    api.clock.now += 1;
    const late = (await api.keys.createKey({ key: { keyspaceId: keyspace.id } })).key!.id;
    const second = await api.keys.listKeys({ keyspaceId: keyspace.id, pageSize: 2, pageToken: first.nextPageToken });
    const third = await api.keys.listKeys({ keyspaceId: keyspace.id, pageSize: 2, pageToken: second.nextPageToken });
    expect([first, second, third].flatMap((page) => page.keys.map((key) => key.id))).toEqual([...ids, late]);
    expect(third.nextPageToken).toBe("");
  });

  it("INVALID_ARGUMENT: no keyspace, bad status, bad paging", async () => {
    const api = testApi();
    const keyspaceId = (await createKeyspace(api)).id;
    await expectCode(api.keys.listKeys({}), Code.InvalidArgument, "keyspace_id must not be empty");
    await expectCode(api.keys.listKeys({ keyspaceId, status: 9 as KeyStatus }), Code.InvalidArgument, "status has unknown value 9");
    await expectCode(api.keys.listKeys({ keyspaceId, pageSize: -5 }), Code.InvalidArgument, "page_size");
    const keyspaceToken = Buffer.from(keyspaceId).toString("base64url");
    await expectCode(api.keys.listKeys({ keyspaceId, pageToken: keyspaceToken }), Code.InvalidArgument, "page_token");
  });

  it("NOT_FOUND: unknown keyspace", async () => {
    await expectCode(testApi().keys.listKeys({ keyspaceId: newId("ks", Date.now()) }), Code.NotFound);
  });
});
