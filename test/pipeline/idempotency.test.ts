import { create, fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { type CreateKeyRequest, CreateKeyRequestSchema, CreateKeyResponseSchema, KeyService } from "../../gen/latchkey/v1/key_pb.js";
import { VerifyCode } from "../../gen/latchkey/v1/verify_pb.js";
import type { Caller } from "../../src/domain/access.js";
import { DomainError } from "../../src/domain/errors.js";
import { ABANDONED_REQUEST_MS } from "../../src/domain/idempotency.js";
import { newId } from "../../src/domain/ids.js";
import type { Logger } from "../../src/observability/log.js";
import { AuditLog } from "../../src/pipeline/audit-log.js";
import { Pipeline } from "../../src/pipeline/compose.js";
import type { CallContext } from "../../src/pipeline/context.js";
import { requestRecordId, requestScope, runOnce } from "../../src/pipeline/idempotency.js";
import { type Audited, mutation } from "../../src/pipeline/procedures.js";
import { RequestValidator } from "../../src/pipeline/validate.js";
import { MemoryStore } from "../../src/store/memory.js";
import { bearer, TEST_ADMIN_TOKEN } from "../support/auth.js";
import { type Clients, createKeyspace, expectCode, type TestApi, testApi } from "../support/api.js";
import { callerHolding, fakeContext } from "./fake-context.js";

const createKeyMethod = KeyService.method.createKey;
const at = Date.UTC(2026, 0, 15);
const keyspaceId = newId("ks", at);
const keyId = newId("key", at);
const createKeyRequest = (name: string, requestId = "retry-1") => create(CreateKeyRequestSchema, { key: { keyspaceId, name }, requestId });

/** A CreateKey handler that counts its runs and answers a key with a secret. */
function countingHandler() {
  const handler = async (request: CreateKeyRequest): Promise<Audited<object>> => {
    handler.runs += 1;
    return { response: { key: { id: keyId, name: request.key!.name }, secret: "sk_shown_once" }, audit: { targets: [keyId, keyspaceId] } };
  };
  handler.runs = 0;
  return handler;
}

/** A handler's run that says when it has started (its request_id claimed) and lasts until `finish`. */
function runningCall() {
  let begin!: () => void;
  let finish!: () => void;
  const started = new Promise<void>((resolve) => (begin = resolve));
  const finished = new Promise<void>((resolve) => (finish = resolve));
  return {
    started,
    finish,
    run: () => {
      begin();
      return finished;
    },
  };
}

/** Why a call was refused: its error kind and reason. */
const refusalOf = (call: Promise<unknown>) =>
  call.then(
    () => undefined,
    (error: unknown) => (error instanceof DomainError ? { kind: error.kind, reason: error.reason } : error),
  );

/** The idempotency stage alone, on the in-memory store: what it keeps, replays and refuses. */
describe("the idempotency stage", () => {
  const scope = requestScope(callerHolding(["key.create"]));
  const once = (store: MemoryStore, request: CreateKeyRequest, run: () => Promise<Audited<object>>, now = () => at, caller = scope) =>
    runOnce(store, now, caller, createKeyMethod, request, run);

  it("runs a first call and keeps its answer, secret removed, with its targets", async () => {
    const store = new MemoryStore();
    const handler = countingHandler();
    const first = await once(store, createKeyRequest("first"), () => handler(createKeyRequest("first")));
    expect(first).toMatchObject({ replayed: false, response: { secret: "sk_shown_once" }, audit: { targets: [keyId, keyspaceId] } });
    const kept = await store.requests.find({ id: requestRecordId(scope, createKeyMethod, "retry-1") });
    expect(kept).toMatchObject({ state: "done", targets: [keyId, keyspaceId], startedAt: at });
    expect(fromBinary(CreateKeyResponseSchema, Buffer.from(kept!.response!, "base64"))).toMatchObject({ key: { id: keyId, name: "first" }, secret: "" });
    expect(handler.runs).toBe(1);
  });

  it("answers a retry from the record, the secret withheld, without running it again", async () => {
    const store = new MemoryStore();
    const handler = countingHandler();
    await once(store, createKeyRequest("first"), () => handler(createKeyRequest("first")));
    const retry = await once(store, createKeyRequest("first"), () => handler(createKeyRequest("first")));
    expect(retry).toMatchObject({
      replayed: true,
      response: { key: { id: keyId, name: "first" }, secret: "", secretWithheld: true },
      audit: { targets: [keyId, keyspaceId], summary: { replayed: true } },
    });
    expect(handler.runs).toBe(1);
  });

  it("refuses a different request under a used id as REQUEST_ID_REUSED, running nothing", async () => {
    const store = new MemoryStore();
    const handler = countingHandler();
    await once(store, createKeyRequest("first"), () => handler(createKeyRequest("first")));
    expect(await refusalOf(once(store, createKeyRequest("second"), () => handler(createKeyRequest("second"))))).toEqual({
      kind: "failed_precondition",
      reason: "REQUEST_ID_REUSED",
    });
    expect(handler.runs).toBe(1);
  });

  it("refuses a retry while the first call runs as REQUEST_IN_PROGRESS; the first then answers both, and a claim older than its bound is run again", async () => {
    const store = new MemoryStore();
    const handler = countingHandler();
    const firstRuns = runningCall();
    const first = once(store, createKeyRequest("first"), async () => {
      await firstRuns.run();
      return handler(createKeyRequest("first"));
    });
    await firstRuns.started;
    expect(await refusalOf(once(store, createKeyRequest("first"), () => handler(createKeyRequest("first"))))).toEqual({
      kind: "aborted",
      reason: "REQUEST_IN_PROGRESS",
    });
    firstRuns.finish();
    expect((await first).replayed).toBe(false);
    expect((await once(store, createKeyRequest("first"), () => handler(createKeyRequest("first")))).replayed).toBe(true);

    const crashed = runningCall();
    void once(store, createKeyRequest("crashed", "retry-2"), async () => {
      await crashed.run();
      return handler(createKeyRequest("crashed"));
    });
    await crashed.started;
    const late = () => at + ABANDONED_REQUEST_MS + 1;
    const rerun = await once(store, createKeyRequest("crashed", "retry-2"), () => handler(createKeyRequest("crashed")), late);
    expect(rerun).toMatchObject({ replayed: false, response: { key: { name: "crashed" } } });
  });

  it("gives the id up when the call fails or changes nothing, so a retry runs afresh", async () => {
    const store = new MemoryStore();
    const handler = countingHandler();
    const failing = () => Promise.reject(new DomainError("not_found", "keyspace not found"));
    expect(await refusalOf(once(store, createKeyRequest("first"), failing))).toMatchObject({ kind: "not_found" });
    await once(store, createKeyRequest("first"), async () => ({ ...(await handler(createKeyRequest("first"))), changedNothing: true }));
    expect(await store.requests.find({ id: requestRecordId(scope, createKeyMethod, "retry-1") })).toBeNull();
    expect((await once(store, createKeyRequest("first"), () => handler(createKeyRequest("first")))).replayed).toBe(false);
    expect(handler.runs).toBe(2);
  });

  it("keeps each root key's ids its own: another key with the same id and body runs its own call, and may use a different body", async () => {
    const store = new MemoryStore();
    const handler = countingHandler();
    const other = requestScope({ ...callerHolding(["key.create"]), actor: "rk_other" });
    const elsewhere = requestScope(callerHolding(["key.create"], "ws_other"));
    await once(store, createKeyRequest("first"), () => handler(createKeyRequest("first")));
    expect((await once(store, createKeyRequest("first"), () => handler(createKeyRequest("first")), undefined, other)).replayed).toBe(false);
    expect((await once(store, createKeyRequest("second"), () => handler(createKeyRequest("second")), undefined, elsewhere)).replayed).toBe(false);
    expect(handler.runs).toBe(3);
  });

  it("in the pipeline, a replay is authorized afresh: a root key narrowed since to other keyspaces is refused NOT_FOUND, its answer not shown", async () => {
    const store = new MemoryStore();
    const handler = countingHandler();
    const now = () => at;
    let caller: Caller = { ...callerHolding(["key.create"]), keyspaceIds: new Set([keyspaceId]) };
    const silent: Logger = { info: () => {}, warn: () => {}, error: () => {} };
    const pipeline = new Pipeline({
      credentials: { rootKey: () => caller, admin: () => caller },
      store,
      now,
      audit: new AuditLog(store, now, silent),
      validator: new RequestValidator(),
      changes: { publish: async () => {} },
      observers: [],
      log: silent,
    });
    const service = pipeline.api(KeyService, { createKey: mutation("key.create", "key.create", handler) } as never) as unknown as Record<
      string,
      (request: unknown, context: CallContext) => Promise<{ secret: string; secretWithheld: boolean }>
    >;
    expect(await service.createKey!(createKeyRequest("first"), fakeContext())).toMatchObject({ secret: "sk_shown_once" });
    expect(await service.createKey!(createKeyRequest("first"), fakeContext())).toMatchObject({ secret: "", secretWithheld: true });
    caller = { ...caller, keyspaceIds: new Set([newId("ks", at + 1)]) };
    const refused = await service.createKey!(createKeyRequest("first"), fakeContext()).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ConnectError);
    expect(refused).toMatchObject({ code: Code.NotFound, rawMessage: `keyspace ${keyspaceId} not found` });
    expect(handler.runs).toBe(1);
  });
});

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
