import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { VerifyCode } from "../../../gen/latchkey/v1/verify_pb.js";
import { issueSecret } from "../../../src/domain/secret.js";
import { createKeyspace, expectCode, testApi } from "../../support/api.js";

const UNAUTHENTICATED_MISSING = "missing or malformed Authorization header";

describe("authentication", () => {
  it("UNAUTHENTICATED: no Authorization header, another scheme, or a malformed secret", async () => {
    const api = testApi();
    const { secret } = await api.workspace();
    await expectCode(api.withInterceptors([]).keyspaces.listKeyspaces({}), Code.Unauthenticated, UNAUTHENTICATED_MISSING);
    const mistyped = secret.slice(0, -1) + (secret.endsWith("x") ? "y" : "x");
    for (const header of [`Basic ${secret}`, "Bearer", "Bearer not-a-key", `Bearer ${mistyped}`, `Bearer ${secret} extra`]) {
      const client = api.withInterceptors([(next) => (request) => (request.header.set("authorization", header), next(request))]);
      await expectCode(client.keyspaces.listKeyspaces({}), Code.Unauthenticated, UNAUTHENTICATED_MISSING);
    }
    expect(
      (
        await api
          .withInterceptors([(next) => (request) => (request.header.set("authorization", `bearer  ${secret}`), next(request))])
          .keyspaces.listKeyspaces({})
      ).keyspaces,
    ).toEqual([]);
  });

  it("UNAUTHENTICATED: a well-formed secret that is no root key, an ordinary key included", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const { secret: ordinary } = await api.keys.createKey({ key: { keyspaceId: keyspace.id } });
    for (const secret of [ordinary, issueSecret("root", 32, 4).secret]) {
      await expectCode(api.as(secret).keyspaces.listKeyspaces({}), Code.Unauthenticated, "the root key is unknown or revoked or expired");
    }
  });

  it("a root key is never verified as an ordinary key", async () => {
    const api = testApi();
    const { secret } = await api.workspace();
    expect((await api.verify.verifyKey({ key: secret })).code).toBe(VerifyCode.NOT_FOUND);
  });

  it("a revoked root key stops working at once on this instance, and elsewhere once the change feed is polled", async () => {
    const api = testApi();
    const { rootKey, secret } = await api.rootKeys.createRootKey({ rootKey: { name: "temp", permissions: ["keyspace.read"] } });
    const temp = api.as(secret);
    await temp.keyspaces.listKeyspaces({});
    await api.rootKeys.revokeRootKey({ id: rootKey!.id });
    await expectCode(temp.keyspaces.listKeyspaces({}), Code.Unauthenticated);

    const elsewhere = testApi(api.store);
    elsewhere.clock.now = api.clock.now;
    await elsewhere.verification.start();
    const { rootKey: second, secret: secondSecret } = await api.rootKeys.createRootKey({ rootKey: { name: "temp2", permissions: ["keyspace.read"] } });
    // The first use learns of the new root key through the change feed; the second caches it.
    await elsewhere.as(secondSecret).keyspaces.listKeyspaces({});
    await elsewhere.as(secondSecret).keyspaces.listKeyspaces({});
    await api.rootKeys.revokeRootKey({ id: second!.id });
    await elsewhere.as(secondSecret).keyspaces.listKeyspaces({});
    await elsewhere.verification.changes.poll();
    await expectCode(elsewhere.as(secondSecret).keyspaces.listKeyspaces({}), Code.Unauthenticated);
    await elsewhere.verification.stop();
  });

  it("an attempt with a revoked root key is recorded in its workspace's audit log", async () => {
    const api = testApi();
    const { rootKey, secret } = await api.rootKeys.createRootKey({ rootKey: { name: "leaked", permissions: ["key.read"] } });
    await api.rootKeys.revokeRootKey({ id: rootKey!.id });
    await expectCode(api.as(secret).keys.getKey({ id: "key_1" }), Code.Unauthenticated);
    const { events } = await api.audit.listAuditEvents({ actor: rootKey!.id });
    expect(events).toMatchObject([{ action: "key.read", outcome: "unauthenticated", targetIds: [rootKey!.id] }]);
  });

  it("an expired root key is refused", async () => {
    const api = testApi();
    const expiresAt = { seconds: BigInt((api.clock.now + 60_000) / 1000), nanos: 0 };
    const { secret } = await api.rootKeys.createRootKey({ rootKey: { name: "short", permissions: ["keyspace.read"], expiresAt } });
    await api.as(secret).keyspaces.listKeyspaces({});
    api.clock.now += 60_000;
    await expectCode(api.as(secret).keyspaces.listKeyspaces({}), Code.Unauthenticated);
  });

  it("CreateWorkspace takes the ADMIN_TOKEN and nothing else", async () => {
    const api = testApi();
    const { secret } = await api.workspace();
    await expectCode(
      api.as(secret).workspaces.createWorkspace({ workspace: { name: "x" } }),
      Code.Unauthenticated,
      "this call needs the deployment's ADMIN_TOKEN",
    );
    await expectCode(api.as("wrong-admin-token-0123456789abcdefghijkl").workspaces.createWorkspace({ workspace: { name: "x" } }), Code.Unauthenticated);
    await expectCode(api.withInterceptors([]).workspaces.createWorkspace({ workspace: { name: "x" } }), Code.Unauthenticated);
  });
});
