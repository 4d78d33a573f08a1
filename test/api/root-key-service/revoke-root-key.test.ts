import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { newId } from "../../../src/domain/ids.js";
import { createKeyspace, expectCode, testApi } from "../../support/api.js";

describe("ListRootKeys and RevokeRootKey", () => {
  it("OK: lists the workspace's root keys, revoked ones included, page by page", async () => {
    const api = testApi();
    const { rootKeyId } = await api.workspace();
    api.clock.now += 1;
    const { rootKey } = await api.rootKeys.createRootKey({ rootKey: { name: "temp", permissions: ["key.read"] } });
    api.clock.now += 1_000;
    const { rootKey: revoked } = await api.rootKeys.revokeRootKey({ id: rootKey!.id });
    expect(timestampMs(revoked!.revokedAt!)).toBe(api.clock.now);
    const first = await api.rootKeys.listRootKeys({ pageSize: 1 });
    expect(first.rootKeys.map((key) => key.id)).toEqual([rootKeyId]);
    const second = await api.rootKeys.listRootKeys({ pageSize: 1, pageToken: first.nextPageToken });
    expect(second).toMatchObject({ rootKeys: [{ id: rootKey!.id, name: "temp" }], nextPageToken: "" });
  });

  it("FAILED_PRECONDITION: revoking twice; NOT_FOUND: no such root key; INVALID_ARGUMENT: not a root key id", async () => {
    const api = testApi();
    const { rootKey } = await api.rootKeys.createRootKey({ rootKey: { name: "temp", permissions: ["key.read"] } });
    await api.rootKeys.revokeRootKey({ id: rootKey!.id });
    await expectCode(api.rootKeys.revokeRootKey({ id: rootKey!.id }), Code.FailedPrecondition, `root key ${rootKey!.id} is revoked already`);
    const missing = newId("rk", Date.now());
    await expectCode(api.rootKeys.revokeRootKey({ id: missing }), Code.NotFound, `root key ${missing} not found`);
    await expectCode(api.rootKeys.revokeRootKey({ id: "key_1" }), Code.InvalidArgument, "id is not a root key id");
  });

  it("PERMISSION_DENIED: a narrowed root key neither sees nor revokes root keys broader than it could grant", async () => {
    const api = testApi();
    const { rootKeyId } = await api.workspace();
    const keyspace = await createKeyspace(api);
    const { rootKey: narrow, secret } = await api.rootKeys.createRootKey({
      rootKey: { name: "narrow", permissions: ["root_key.manage", "key.read"], keyspaceIds: [keyspace.id] },
    });
    const { rootKey: peer } = await api.rootKeys.createRootKey({ rootKey: { name: "peer", permissions: ["key.read"], keyspaceIds: [keyspace.id] } });
    const { rootKey: broad } = await api.rootKeys.createRootKey({ rootKey: { name: "broad", permissions: ["key.read"] } });
    const narrowed = api.as(secret);

    const listed = await narrowed.rootKeys.listRootKeys({});
    expect(listed.rootKeys.map((key) => key.id).sort()).toEqual([narrow!.id, peer!.id].sort());
    await expectCode(narrowed.rootKeys.revokeRootKey({ id: rootKeyId }), Code.PermissionDenied);
    await expectCode(
      narrowed.rootKeys.revokeRootKey({ id: broad!.id }),
      Code.PermissionDenied,
      "this root key is narrowed to keyspaces and cannot grant or manage root keys beyond its keyspaces",
    );
    await expectCode(narrowed.rootKeys.rotateRootKey({ id: broad!.id }), Code.PermissionDenied);
    const { rootKey: revokedPeer } = await narrowed.rootKeys.revokeRootKey({ id: peer!.id });
    expect(revokedPeer).toMatchObject({ id: peer!.id, revokedAt: timestampFromMs(api.clock.now) });
    expect((await api.keyspaces.listKeyspaces({})).keyspaces).toHaveLength(1);
  });
});
