import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { VerifyCode } from "../../gen/latchkey/v1/verify_pb.js";
import { newId } from "../../src/domain/ids.js";
import { bearer, TEST_ADMIN_TOKEN } from "../support/auth.js";
import { type Clients, createKeyspace, expectCode, type TestApi, testApi } from "../support/api.js";

const recoverableKeyspace = async (api: Clients) =>
  (await api.keyspaces.createKeyspace({ keyspace: { name: "recoverable", defaultPrefix: "rec", recoverable: true } })).keyspace!;

/** Clients holding a new root key of the api's workspace with these permissions (and keyspaces). */
async function rootKey(api: TestApi, permissions: string[], keyspaceIds: string[] = []) {
  const { rootKey, secret } = await api.rootKeys.createRootKey({ rootKey: { name: permissions.join(" "), permissions, keyspaceIds } });
  return { id: rootKey!.id, clients: api.as(secret) };
}

/** Retrying a creation with the same request_id (AIP-155) returns the first answer and creates nothing more. */
describe("request_id", () => {
  it("OK: a retried CreateKey returns the first key, once, with its secret withheld", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const request = { key: { keyspaceId: keyspace.id, name: "retried" }, requestId: "7c9e6679-7425-40de-944b-e07fc1f90ae7" };
    const first = await api.keys.createKey(request);
    const retry = await api.keys.createKey(request);
    expect(first.secretWithheld).toBe(false);
    expect(retry).toMatchObject({ key: { id: first.key!.id, name: "retried" }, secret: "", secretWithheld: true });
    expect((await api.keys.listKeys({ keyspaceId: keyspace.id })).keys).toHaveLength(1);
    expect((await api.verify.verifyKey({ key: first.secret })).code).toBe(VerifyCode.VALID);
    const events = (await api.audit.listAuditEvents({ action: "key.create" })).events;
    expect(events.map((event) => event.summary?.replayed ?? false).sort()).toEqual([false, true]);
  });

  it("OK: every creation, import and reroll answers a retry from the first call", async () => {
    const api = testApi();
    const keyspace = (await api.keyspaces.createKeyspace({ keyspace: { name: "once" }, requestId: "ks-1" })).keyspace!;
    expect((await api.keyspaces.createKeyspace({ keyspace: { name: "once" }, requestId: "ks-1" })).keyspace!.id).toBe(keyspace.id);
    const identity = await api.identities.createIdentity({ identity: { externalId: "org_1" }, requestId: "id-1" });
    expect((await api.identities.createIdentity({ identity: { externalId: "org_1" }, requestId: "id-1" })).identity!.id).toBe(identity.identity!.id);
    const permission = await api.rbac.createPermission({ permission: { name: "docs.read" }, requestId: "perm-1" });
    expect((await api.rbac.createPermission({ permission: { name: "docs.read" }, requestId: "perm-1" })).permission!.id).toBe(permission.permission!.id);
    const role = await api.rbac.createRole({ role: { name: "reader" }, requestId: "role-1" });
    expect((await api.rbac.createRole({ role: { name: "reader" }, requestId: "role-1" })).role!.id).toBe(role.role!.id);
    const rootKey = await api.rootKeys.createRootKey({ rootKey: { name: "ci", permissions: ["key.read"] }, requestId: "rk-1" });
    expect(await api.rootKeys.createRootKey({ rootKey: { name: "ci", permissions: ["key.read"] }, requestId: "rk-1" })).toMatchObject({
      rootKey: { id: rootKey.rootKey!.id },
      secret: "",
      secretWithheld: true,
    });
    const admin = api.withInterceptors([bearer(TEST_ADMIN_TOKEN)]).workspaces;
    const workspace = await admin.createWorkspace({ workspace: { name: "tenant" }, requestId: "ws-1" });
    expect(await admin.createWorkspace({ workspace: { name: "tenant" }, requestId: "ws-1" })).toMatchObject({
      workspace: { id: workspace.workspace!.id },
      rootKeySecret: "",
      secretWithheld: true,
    });

    const imports = { keyspaceId: keyspace.id, keys: [{ secret: { case: "plaintext" as const, value: "sk_live_imported_once" } }], requestId: "import-1" };
    const imported = await api.keys.importKeys(imports);
    expect((await api.keys.importKeys(imports)).results).toEqual(imported.results);

    const created = await api.keys.createKey({ key: { keyspaceId: keyspace.id } });
    const reroll = { id: created.key!.id, gracePeriodMs: 0n, requestId: "reroll-1" };
    const rerolled = await api.keys.rerollKey(reroll);
    expect(await api.keys.rerollKey(reroll)).toMatchObject({ key: { start: rerolled.key!.start }, secret: "", secretWithheld: true });
    expect((await api.verify.verifyKey({ key: rerolled.secret })).code).toBe(VerifyCode.VALID);
  });

  it("OK: the same request_id in two workspaces is two requests; a call that failed gives its id up", async () => {
    const api = testApi();
    const other = api.as((await api.newWorkspace("other")).secret);
    const mine = await api.keyspaces.createKeyspace({ keyspace: { name: "a" }, requestId: "shared" });
    const theirs = await other.keyspaces.createKeyspace({ keyspace: { name: "a" }, requestId: "shared" });
    expect(theirs.keyspace!.id).not.toBe(mine.keyspace!.id);

    await expectCode(api.keys.createKey({ key: { keyspaceId: newId("ks", Date.now()) }, requestId: "failed-first" }), Code.NotFound);
    const created = await api.keys.createKey({ key: { keyspaceId: mine.keyspace!.id }, requestId: "failed-first" });
    expect(created.secret).not.toBe("");
  });

  it("OK: a claim abandoned by a crashed instance (still running after a minute) is run again; a younger one is ABORTED", async () => {
    const api = testApi();
    const { workspaceId, rootKeyId } = await api.workspace();
    const request = { keyspace: { name: "x" }, requestId: "crashed" };
    const first = await api.keyspaces.createKeyspace(request);
    const id = `${workspaceId}:${rootKeyId}:latchkey.v1.KeyspaceService/CreateKeyspace:crashed`;
    await api.store.requests.update({ id }, { state: "running", response: null, startedAt: api.clock.now - 30_000 });
    await expectCode(api.keyspaces.createKeyspace(request), Code.Aborted, "a call with request_id crashed is still running");
    await api.store.requests.update({ id }, { startedAt: api.clock.now - 61_000 });
    const rerun = await api.keyspaces.createKeyspace(request);
    expect(rerun.keyspace!.id).not.toBe(first.keyspace!.id);
    expect((await api.keyspaces.createKeyspace(request)).keyspace!.id).toBe(rerun.keyspace!.id);
  });

  it("FAILED_PRECONDITION: the same request_id for a different request (REQUEST_ID_REUSED)", async () => {
    const api = testApi();
    await api.keyspaces.createKeyspace({ keyspace: { name: "first" }, requestId: "reused" });
    const error = await expectCode(
      api.keyspaces.createKeyspace({ keyspace: { name: "second" }, requestId: "reused" }),
      Code.FailedPrecondition,
      "request_id reused was first used for a different request",
    );
    expect(error.findDetails(ErrorInfoSchema)).toMatchObject([{ reason: "REQUEST_ID_REUSED" }]);
  });

  it("ABORTED: a retry while the first call still runs (REQUEST_IN_PROGRESS), which then answers both", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const request = { key: { keyspaceId: keyspace.id }, requestId: "concurrent" };
    const [first, second] = await Promise.allSettled([api.keys.createKey(request), api.keys.createKey(request)]);
    expect(first.status).toBe("fulfilled");
    expect(second).toMatchObject({ status: "rejected", reason: { code: Code.Aborted } });
    expect((await api.keys.createKey(request)).key!.id).toBe((first as PromiseFulfilledResult<{ key?: { id: string } }>).value.key!.id);
  });

  it("INVALID_ARGUMENT: a request_id past 64 characters or with other characters", async () => {
    const api = testApi();
    await expectCode(api.keyspaces.createKeyspace({ keyspace: { name: "x" }, requestId: "x".repeat(65) }), Code.InvalidArgument, "request_id");
    await expectCode(api.keyspaces.createKeyspace({ keyspace: { name: "x" }, requestId: "a b" }), Code.InvalidArgument, "request_id");
  });

  it("OK: request ids are each root key's own: another key sending the same body and id runs its own call, learns nothing and blocks nothing", async () => {
    const api = testApi();
    const recoverable = await recoverableKeyspace(api);
    const narrowKeyspace = await createKeyspace(api, "narrow", "nar");
    const narrow = await rootKey(api, ["key.create"], [narrowKeyspace.id]);
    const request = { key: { keyspaceId: recoverable.id, name: "theirs" }, requestId: "shared-id" };
    const first = await api.keys.createKey(request);

    await expectCode(narrow.clients.keys.createKey(request), Code.NotFound, `keyspace ${recoverable.id} not found`);
    const own = await narrow.clients.keys.createKey({ key: { keyspaceId: narrowKeyspace.id }, requestId: "shared-id" });
    expect(own).toMatchObject({ secretWithheld: false, key: { keyspaceId: narrowKeyspace.id } });
    expect(own.key!.id).not.toBe(first.key!.id);

    await narrow.clients.keys.createKey({ key: { keyspaceId: narrowKeyspace.id }, requestId: "taken-first" });
    const later = await api.keys.createKey({ key: { keyspaceId: recoverable.id }, requestId: "taken-first" });
    expect(later).toMatchObject({ secretWithheld: false, key: { keyspaceId: recoverable.id } });
    expect(later.secret).not.toBe("");
  });

  it("OK: a retry shows a recoverable secret again only to a root key holding key.decrypt, and records that reading", async () => {
    const api = testApi();
    const keyspace = await recoverableKeyspace(api);
    const creator = await rootKey(api, ["key.create"]);
    const decrypter = await rootKey(api, ["key.create", "key.decrypt"]);

    const withheldRequest = { key: { keyspaceId: keyspace.id }, requestId: "no-decrypt" };
    const created = await creator.clients.keys.createKey(withheldRequest);
    expect(await creator.clients.keys.createKey(withheldRequest)).toMatchObject({ key: { id: created.key!.id }, secret: "", secretWithheld: true });
    const reroll = { id: created.key!.id, gracePeriodMs: 0n, requestId: "reroll-no-decrypt" };
    await creator.clients.keys.rerollKey(reroll);
    expect(await creator.clients.keys.rerollKey(reroll)).toMatchObject({ secret: "", secretWithheld: true });

    const shownRequest = { key: { keyspaceId: keyspace.id }, requestId: "decrypt" };
    const shown = await decrypter.clients.keys.createKey(shownRequest);
    expect(await decrypter.clients.keys.createKey(shownRequest)).toMatchObject({ secret: shown.secret, secretWithheld: false });
    const rerollShown = { id: shown.key!.id, gracePeriodMs: 0n, requestId: "reroll-decrypt" };
    const rerolled = await decrypter.clients.keys.rerollKey(rerollShown);
    expect(await decrypter.clients.keys.rerollKey(rerollShown)).toMatchObject({ secret: rerolled.secret, secretWithheld: false });

    const readings = (await api.audit.listAuditEvents({ action: "key.decrypt" })).events.map((event) => ({
      actor: event.actor,
      targets: [...event.targetIds].sort(),
    }));
    expect(readings).toHaveLength(2);
    expect(readings).toEqual(
      expect.arrayContaining([
        { actor: decrypter.id, targets: [keyspace.id, shown.key!.id].sort() },
        { actor: decrypter.id, targets: [shown.key!.id] },
      ]),
    );
  });

  it("OK: a retry is recorded with the first call's targets", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const request = { key: { keyspaceId: keyspace.id }, requestId: "audited" };
    const { key } = await api.keys.createKey(request);
    await api.keys.createKey(request);
    const [replay] = (await api.audit.listAuditEvents({ action: "key.create" })).events.filter((event) => event.summary?.replayed);
    expect(replay!.targetIds).toEqual(expect.arrayContaining([key!.id, keyspace.id]));
    expect(replay!.outcome).toBe("ok");
  });

  it("NOT_FOUND: a retry naming a keyspace the root key no longer reaches is refused as a fresh call would be, and its answer not shown", async () => {
    const api = testApi();
    const { workspaceId } = await api.workspace();
    const kept = await createKeyspace(api, "kept", "kep");
    const other = await createKeyspace(api, "other", "oth");
    const narrow = await rootKey(api, ["key.create"], [kept.id, other.id]);
    const request = { key: { keyspaceId: kept.id }, requestId: "narrowed-since" };
    await narrow.clients.keys.createKey(request);
    // Root keys are not edited through the API; an operator's edit of the record (and its eviction) stands for a narrowing that changed.
    const record = await api.store.rootKeys.update({ id: narrow.id, workspaceId }, { keyspaceIds: [other.id] });
    await api.verification.changes.publish({ rootKeyHash: record!.hash });
    await expectCode(narrow.clients.keys.createKey(request), Code.NotFound, `keyspace ${kept.id} not found`);
    const [refusal] = (await api.audit.listAuditEvents({ action: "key.create", actor: narrow.id })).events.filter((event) => event.outcome !== "ok");
    expect(refusal!.targetIds).toContain(kept.id);
  });

  it("OK: a root key narrowed to keyspaces that creates a keyspace gets its answer again on a retry", async () => {
    const api = testApi();
    const mine = await createKeyspace(api, "mine", "min");
    const narrow = await rootKey(api, ["keyspace.create"], [mine.id]);
    const request = { keyspace: { name: "made by a narrowed key" }, requestId: "narrow-keyspace" };
    const first = await narrow.clients.keyspaces.createKeyspace(request);
    expect((await narrow.clients.keyspaces.createKeyspace(request)).keyspace!.id).toBe(first.keyspace!.id);
  });

  it("OK: an ImportKeys whose every item failed keeps nothing for its request_id, and its retry runs afresh", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const { workspaceId, rootKeyId } = await api.workspace();
    const failing = {
      keyspaceId: keyspace.id,
      keys: [{ key: { roles: ["no-such-role"] }, secret: { case: "plaintext" as const, value: "sk_live_never_imported" } }],
      requestId: "all-failed",
    };
    const first = await api.keys.importKeys(failing);
    expect(first.results).toMatchObject([{ errorCode: "NOT_FOUND" }]);
    expect(await api.store.requests.find({ id: `${workspaceId}:${rootKeyId}:latchkey.v1.KeyService/ImportKeys:all-failed` })).toBeNull();
    await api.rbac.createRole({ role: { name: "no-such-role" } });
    const retried = await api.keys.importKeys(failing);
    expect(retried.results[0]!.key?.id).toMatch(/^key_/);
    expect((await api.keys.importKeys(failing)).results).toEqual(retried.results);
  });
});
