import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { TEST_ADMIN_TOKEN } from "../../support/auth.js";
import { createKeyspace, expectCode, stringify, testApi } from "../../support/api.js";

describe("RootKeyService.GetCurrentRootKey", () => {
  it("OK: any root key reads its own record, permissions and keyspaces, holding no permission to read root keys", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const { rootKey, secret } = await api.rootKeys.createRootKey({ rootKey: { name: "verifier", permissions: ["key.verify"], keyspaceIds: [keyspace.id] } });
    const answer = await api.as(secret).rootKeys.getCurrentRootKey({});
    expect(answer.rootKey).toEqual(rootKey);
    expect(stringify(answer)).not.toContain(secret);
    await expectCode(api.as(secret).rootKeys.listRootKeys({}), Code.PermissionDenied, "this root key lacks the permission root_key.manage");
  });

  it("OK: answers the caller's own record only, in its own workspace", async () => {
    const api = testApi();
    const { rootKeyId } = await api.workspace();
    const other = await api.newWorkspace("other");
    expect((await api.rootKeys.getCurrentRootKey({})).rootKey!.id).toBe(rootKeyId);
    expect((await api.as(other.secret).rootKeys.getCurrentRootKey({})).rootKey!.id).toBe(other.rootKeyId);
  });

  it("OK: shows a change to the record at once, as the store holds it", async () => {
    const api = testApi();
    const { rootKey, secret } = await api.rootKeys.createRootKey({ rootKey: { name: "rotating", permissions: ["key.read"] } });
    const { rootKey: successor } = await api.rootKeys.rotateRootKey({ id: rootKey!.id, gracePeriodMs: 60_000n });
    expect((await api.as(secret).rootKeys.getCurrentRootKey({})).rootKey!.replacedBy).toBe(successor!.id);
  });

  it("UNAUTHENTICATED: the ADMIN_TOKEN, a revoked root key, no credentials; the revoked key's attempt is audited", async () => {
    const api = testApi();
    const { rootKey, secret } = await api.rootKeys.createRootKey({ rootKey: { name: "gone", permissions: ["key.read"] } });
    await api.rootKeys.revokeRootKey({ id: rootKey!.id });
    await expectCode(api.as(TEST_ADMIN_TOKEN).rootKeys.getCurrentRootKey({}), Code.Unauthenticated);
    await expectCode(api.as(secret).rootKeys.getCurrentRootKey({}), Code.Unauthenticated);
    await expectCode(api.withInterceptors([]).rootKeys.getCurrentRootKey({}), Code.Unauthenticated);
    const { events } = await api.audit.listAuditEvents({ actor: rootKey!.id });
    expect(events.map((event) => [event.action, event.outcome])).toContainEqual(["root_key.read_own", "unauthenticated"]);
  });
});
