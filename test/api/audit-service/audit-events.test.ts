import { Code, type Interceptor } from "@connectrpc/connect";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { expectCode, stringify, testApi } from "../../support/api.js";
import { bearer } from "../../support/auth.js";
import { buildWorld, type World } from "../../support/world.js";
import { RPC_CASES } from "../access/rpc-cases.js";

const userAgent: Interceptor = (next) => (request) => {
  request.header.set("user-agent", "audit-test/1.0");
  return next(request);
};

const MUTATIONS = RPC_CASES.filter((rpcCase) => rpcCase.action);

/** Each mutation answers its own message type. */
type Answer = any;

/** The records each audited mutation names as its targets: the one it changed, and what it was made in or replaced by. */
const EXPECTED_TARGETS: Record<string, (world: World, answer: Answer) => string[]> = {
  "workspace.update": (world) => [world.workspaceId],
  "root_key.create": (_world, answer) => [answer.rootKey.id],
  "root_key.revoke": (world) => [world.rootKeyId],
  "root_key.rotate": (world, answer) => [world.rootKeyId, answer.rootKey.id],
  "keyspace.create": (_world, answer) => [answer.keyspace.id],
  "keyspace.update": (world) => [world.keyspaceId],
  "keyspace.delete": (world) => [world.keyspaceId],
  "key.create": (world, answer) => [answer.key.id, world.keyspaceId],
  "key.import": (world, answer) => [world.keyspaceId, answer.results[0].key.id],
  "key.update": (world) => [world.keyId],
  "key.revoke": (world) => [world.keyId],
  "key.delete": (world) => [world.keyId],
  "key.add_roles": (world) => [world.keyId],
  "key.remove_roles": (world) => [world.keyId],
  "key.set_roles": (world) => [world.keyId],
  "key.add_permissions": (world) => [world.keyId],
  "key.remove_permissions": (world) => [world.keyId],
  "key.set_permissions": (world) => [world.keyId],
  "key.update_credits": (world) => [world.keyId],
  "key.reroll": (world) => [world.keyId],
  "identity.create": (_world, answer) => [answer.identity.id],
  "identity.update": (world) => [world.identityId],
  "identity.delete": (world) => [world.identityId],
  "permission.create": (_world, answer) => [answer.permission.id],
  "permission.delete": (world) => [world.permissionId],
  "role.create": (_world, answer) => [answer.role.id],
  "role.update": (world) => [world.roleId],
  "role.delete": (world) => [world.roleId],
  "ratelimit.override.set": (world) => [world.overrideId],
  "ratelimit.override.delete": (world) => [world.overrideId],
  "ratelimit.namespace.delete": (world) => [world.ratelimitNamespaceId],
};

/** Every string field named like a secret, anywhere in a response. */
function secretsIn(value: unknown): string[] {
  if (!value || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([field, inner]) => (typeof inner === "string" && /secret$/i.test(field) && inner ? [inner] : secretsIn(inner)));
}

describe("audit log", () => {
  it.each(MUTATIONS)("$rpc appends one $action event naming actor, targets and request, with no secret", async ({ call, action }) => {
    const api = testApi();
    const world = await buildWorld(api, await api.workspace());
    const { rootKey, secret } = await world.clients.rootKeys.createRootKey({
      rootKey: {
        name: "actor",
        permissions: [
          "root_key.manage",
          "key.create",
          "key.update",
          "key.delete",
          "keyspace.create",
          "keyspace.update",
          "keyspace.delete",
          "identity.create",
          "identity.update",
          "identity.delete",
          "rbac.manage",
          "workspace.update",
          "key.read",
          "ratelimit.manage",
        ],
      },
    });
    const before = (await api.audit.listAuditEvents({ pageSize: 100 })).events.length;
    const response = await call(api.withInterceptors([bearer(secret), userAgent]), world);

    const { events } = await api.audit.listAuditEvents({ actor: rootKey!.id, action });
    expect(events).toHaveLength(1);
    const event = events[0]!;
    expect(event).toMatchObject({ actor: rootKey!.id, action, outcome: "ok", userAgent: "audit-test/1.0" });
    const expectedTargets = EXPECTED_TARGETS[action!];
    expect(expectedTargets, `EXPECTED_TARGETS names no targets for ${action}`).toBeDefined();
    expect(event.targetIds).toEqual(expectedTargets!(world, response));
    expect((await api.audit.listAuditEvents({ pageSize: 100 })).events.length).toBe(before + 1);
    const everything = stringify((await api.audit.listAuditEvents({ pageSize: 100 })).events);
    for (const hidden of [world.keySecret, world.secret, secret, ...secretsIn(response)]) expect(everything).not.toContain(hidden);
  });

  it("records failed mutations and refused permissions with their outcome, and leaves reads unrecorded", async () => {
    const api = testApi();
    const world = await buildWorld(api, await api.workspace());
    const { rootKey, secret } = await api.rootKeys.createRootKey({ rootKey: { name: "reader", permissions: ["key.read"] } });
    const reader = api.as(secret);
    await reader.keys.getKey({ id: world.keyId });
    await expectCode(reader.keys.revokeKey({ id: world.keyId }), Code.PermissionDenied);
    api.clock.now += 1;
    await expectCode(reader.keyspaces.listKeyspaces({}), Code.PermissionDenied);
    const missing = world.keyId.slice(0, -1) + (world.keyId.endsWith("1") ? "2" : "1");
    await expectCode(api.keys.deleteKey({ id: missing }), Code.NotFound);

    const { events } = await api.audit.listAuditEvents({ actor: rootKey!.id });
    expect(events.map(({ action, outcome, targetIds }) => ({ action, outcome, targetIds }))).toEqual([
      { action: "key.revoke", outcome: "permission_denied", targetIds: [] },
      { action: "keyspace.read", outcome: "permission_denied", targetIds: [] },
    ]);
    const failed = await api.audit.listAuditEvents({ action: "key.delete" });
    expect(failed.events.map((event) => event.outcome)).toEqual(["not_found"]);
  });

  it("filters by actor, action, target and time, pages with a cursor, and keeps events of deleted records", async () => {
    const api = testApi();
    const world = await buildWorld(api, await api.workspace());
    const start = api.clock.now;
    api.clock.now += 1000;
    await api.keys.updateKey({ key: { id: world.keyId, name: "one" }, updateMask: { paths: ["name"] } });
    api.clock.now += 1000;
    await api.keys.deleteKey({ id: world.keyId, permanent: true });

    const forKey = await api.audit.listAuditEvents({ targetId: world.keyId });
    expect(forKey.events.map((event) => event.action)).toEqual(["key.create", "key.update", "key.delete"]);
    const window = await api.audit.listAuditEvents({ startTime: timestampFromMs(start + 1000), endTime: timestampFromMs(start + 2000) });
    expect(window.events.map((event) => event.action)).toEqual(["key.update"]);
    const first = await api.audit.listAuditEvents({ targetId: world.keyId, pageSize: 2 });
    const rest = await api.audit.listAuditEvents({ targetId: world.keyId, pageSize: 2, pageToken: first.nextPageToken });
    expect([...first.events, ...rest.events].map((event) => event.action)).toEqual(["key.create", "key.update", "key.delete"]);
    expect(rest.nextPageToken).toBe("");
    const byOther = await api.audit.listAuditEvents({ actor: "rk_nobody" });
    expect(byOther.events).toEqual([]);
    expect(forKey.events[1]!.summary).toEqual({ fields: ["name"] });
  });

  it("INVALID_ARGUMENT: an empty time range, a foreign page token", async () => {
    const api = testApi();
    await expectCode(
      api.audit.listAuditEvents({ startTime: timestampFromMs(2000), endTime: timestampFromMs(1000) }),
      Code.InvalidArgument,
      "end_time must be after start_time",
    );
    await expectCode(api.audit.listAuditEvents({ pageToken: "bm9wZQ" }), Code.InvalidArgument, "page_token is not a token this listing returned");
  });

  it("coalesces repeated failed attempts: the 1st, 10th, 100th… of a minute are written, counting attempts", async () => {
    const api = testApi();
    const { rootKey, secret } = await api.rootKeys.createRootKey({ rootKey: { name: "leaked", permissions: ["key.read"] } });
    await api.rootKeys.revokeRootKey({ id: rootKey!.id });
    const attempt = () => expectCode(api.as(secret).keys.getKey({ id: "key_1" }), Code.Unauthenticated);
    for (let i = 0; i < 120; i++) await attempt();
    // Events of one millisecond are in no particular order among themselves.
    const attempts = async () =>
      (await api.audit.listAuditEvents({ actor: rootKey!.id, action: "key.read" })).events
        .map((event) => Number(event.summary?.attempts))
        .sort((a, b) => a - b);
    expect(await attempts()).toEqual([1, 10, 100]);
    api.clock.now += 60_000;
    await attempt();
    expect(await attempts()).toEqual([1, 1, 10, 100]);
  });

  it("keeps at most 256 characters of a caller's user agent", async () => {
    const api = testApi();
    const long: Interceptor = (next) => (request) => (request.header.set("user-agent", "u".repeat(8192)), next(request));
    await api.withInterceptors([bearer(async () => (await api.workspace()).secret), long]).keyspaces.createKeyspace({ keyspace: { name: "k" } });
    const { events } = await api.audit.listAuditEvents({ action: "keyspace.create" });
    expect(events[0]!.userAgent).toBe("u".repeat(256));
  });

  it("records CreateWorkspace in the new workspace, acted by admin", async () => {
    const api = testApi();
    const { workspaceId, rootKeyId } = await api.workspace();
    const { events } = await api.audit.listAuditEvents({ action: "workspace.create" });
    expect(events).toMatchObject([{ actor: "admin", targetIds: [workspaceId, rootKeyId], outcome: "ok" }]);
  });
});
