import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { RateLimitAlgorithm } from "../../../gen/latchkey/v1/key_pb.js";
import { VerifyCode } from "../../../gen/latchkey/v1/verify_pb.js";
import { newId } from "../../../src/domain/ids.js";
import { createKeyspace, expectCode, testApi } from "../../support/api.js";

const limit = { name: "api", limit: 3n, durationMs: 60_000n, autoApply: true };

describe("identities", () => {
  it("OK: create, get by id or external id, list page by page, update (a field the mask leaves out ignored whatever it holds)", async () => {
    const api = testApi();
    const { identity } = await api.identities.createIdentity({ identity: { externalId: "org_42", meta: { plan: "pro" }, rateLimits: [limit] } });
    expect(identity).toMatchObject({ externalId: "org_42", meta: { plan: "pro" }, rateLimits: [limit] });
    expect((await api.identities.getIdentity({ id: identity!.id })).identity).toEqual(identity);
    expect((await api.identities.getIdentity({ externalId: "org_42" })).identity).toEqual(identity);
    api.clock.now += 1;
    const { identity: second } = await api.identities.createIdentity({ identity: { externalId: "org_43" } });
    const page = await api.identities.listIdentities({ pageSize: 1 });
    expect(page.identities.map((i) => i.id)).toEqual([identity!.id]);
    expect((await api.identities.listIdentities({ pageToken: page.nextPageToken })).identities.map((i) => i.id)).toEqual([second!.id]);
    const { identity: updated } = await api.identities.updateIdentity({
      identity: { id: identity!.id, meta: { plan: "team" }, rateLimits: [{ ...limit, algorithm: 7 as RateLimitAlgorithm }] },
      updateMask: { paths: ["meta"] },
    });
    expect(updated).toMatchObject({ meta: { plan: "team" }, rateLimits: [limit] });
  });

  it("OK: an identity's sliding-window limit is shared by its keys, and updating the limits can change the algorithm", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const sliding = { ...limit, algorithm: RateLimitAlgorithm.SLIDING_WINDOW };
    const { identity } = await api.identities.createIdentity({ identity: { externalId: "org_42", rateLimits: [sliding] } });
    expect(identity!.rateLimits).toMatchObject([sliding]);
    const secrets = await Promise.all([1, 2].map(async () => (await api.keys.createKey({ key: { keyspaceId: keyspace.id, externalId: "org_42" } })).secret));
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await api.verify.verifyKey({ key: secrets[i % 2]! })).code);
    expect(codes).toEqual([VerifyCode.VALID, VerifyCode.VALID, VerifyCode.VALID, VerifyCode.RATE_LIMITED]);
    const fixed = { ...limit, algorithm: RateLimitAlgorithm.FIXED_WINDOW };
    const { identity: updated } = await api.identities.updateIdentity({
      identity: { id: identity!.id, rateLimits: [fixed] },
      updateMask: { paths: ["rate_limits"] },
    });
    expect(updated!.rateLimits).toMatchObject([fixed]);
  });

  it("ALREADY_EXISTS: a second identity with the same external id", async () => {
    const api = testApi();
    await api.identities.createIdentity({ identity: { externalId: "org_42" } });
    await expectCode(api.identities.createIdentity({ identity: { externalId: "org_42" } }), Code.AlreadyExists);
  });

  it("INVALID_ARGUMENT: no external id, a bad rate limit, meta holding NaN or Infinity, both or neither of id and external id", async () => {
    const api = testApi();
    const { identity } = await api.identities.createIdentity({ identity: { externalId: "org_1", meta: { plan: "pro" } } });
    await expectCode(
      api.identities.updateIdentity({ identity: { id: identity!.id, meta: { quota: Number.POSITIVE_INFINITY } }, updateMask: { paths: ["meta"] } }),
      Code.InvalidArgument,
      "identity.meta must hold finite numbers only",
    );
    await expectCode(
      api.identities.createIdentity({ identity: { externalId: "org_2", meta: { ratio: Number.NaN } } }),
      Code.InvalidArgument,
      "identity.meta must hold finite numbers only",
    );
    expect((await api.identities.getIdentity({ id: identity!.id })).identity!.meta).toEqual({ plan: "pro" });
    await expectCode(api.identities.createIdentity({ identity: {} }), Code.InvalidArgument, "identity.external_id must be 1 to 256 characters");
    await expectCode(
      api.identities.createIdentity({ identity: { externalId: "x", rateLimits: [{ ...limit, durationMs: 999n }] } }),
      Code.InvalidArgument,
      "identity.rate_limits[0].duration_ms must be greater than or equal to 1000",
    );
    await expectCode(api.identities.getIdentity({}), Code.InvalidArgument);
    await expectCode(api.identities.getIdentity({ id: newId("idt", Date.now()), externalId: "x" }), Code.InvalidArgument);
    await expectCode(
      api.identities.updateIdentity({ identity: { id: newId("idt", Date.now()) }, updateMask: { paths: ["external_id"] } }),
      Code.InvalidArgument,
    );
  });

  it("NOT_FOUND: no such identity", async () => {
    const api = testApi();
    const id = newId("idt", Date.now());
    await expectCode(api.identities.getIdentity({ id }), Code.NotFound, `identity ${id} not found`);
    await expectCode(api.identities.getIdentity({ externalId: "nobody" }), Code.NotFound);
    await expectCode(api.identities.updateIdentity({ identity: { id }, updateMask: { paths: ["meta"] } }), Code.NotFound, `identity ${id} not found`);
    await expectCode(api.identities.deleteIdentity({ id }), Code.NotFound);
    await expectCode(api.identities.deleteIdentity({ id: "idt_short" }), Code.InvalidArgument, "id is not an identity id");
  });

  it("FAILED_PRECONDITION: deleting an identity that has live keys, unless forced", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const { identity } = await api.identities.createIdentity({ identity: { externalId: "org_42", rateLimits: [limit] } });
    const { secret } = await api.keys.createKey({ key: { keyspaceId: keyspace.id, externalId: "org_42" } });
    await expectCode(api.identities.deleteIdentity({ id: identity!.id }), Code.FailedPrecondition, `identity ${identity!.id} still has 1 keys`);
    await api.identities.deleteIdentity({ id: identity!.id, force: true });
    const result = await api.verify.verifyKey({ key: secret });
    expect(result).toMatchObject({ code: VerifyCode.VALID, externalId: "org_42" });
    expect(result.identity).toBeUndefined();
  });

  it("CreateKey can create the identity it names", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    await api.keys.createKey({ key: { keyspaceId: keyspace.id, externalId: "new_org" }, createIdentity: true });
    await api.keys.createKey({ key: { keyspaceId: keyspace.id, externalId: "new_org" }, createIdentity: true });
    expect((await api.identities.getIdentity({ externalId: "new_org" })).identity!.externalId).toBe("new_org");
    await api.keys.createKey({ key: { keyspaceId: keyspace.id, externalId: "unregistered" } });
    await expectCode(api.identities.getIdentity({ externalId: "unregistered" }), Code.NotFound);
  });

  it("a key whose identity another key's creation made joins it on its next verification", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const { secret } = await api.keys.createKey({ key: { keyspaceId: keyspace.id, externalId: "org_7" } });
    expect((await api.verify.verifyKey({ key: secret })).identity).toBeUndefined();
    const { key } = await api.keys.createKey({ key: { keyspaceId: keyspace.id, externalId: "org_7" }, createIdentity: true });
    const { identity } = await api.identities.getIdentity({ externalId: "org_7" });
    expect((await api.verify.verifyKey({ key: secret })).identity!.id).toBe(identity!.id);
    const { events } = await api.audit.listAuditEvents({ targetId: identity!.id });
    expect(events).toMatchObject([{ action: "key.create", targetIds: [key!.id, keyspace.id, identity!.id], summary: { identityCreated: true } }]);
  });
});

describe("verification with identities", () => {
  it("returns the identity with its meta, and shares its rate limits among all its keys", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const { identity } = await api.identities.createIdentity({ identity: { externalId: "org_42", meta: { plan: "pro" }, rateLimits: [limit] } });
    const first = await api.keys.createKey({ key: { keyspaceId: keyspace.id, externalId: "org_42" } });
    const second = await api.keys.createKey({ key: { keyspaceId: keyspace.id, externalId: "org_42" } });
    const loner = await api.keys.createKey({ key: { keyspaceId: keyspace.id, externalId: "org_99" } });

    const verdicts = [];
    for (const secret of [first.secret, second.secret, first.secret, second.secret]) verdicts.push(await api.verify.verifyKey({ key: secret }));
    expect(verdicts.map((v) => v.code)).toEqual([VerifyCode.VALID, VerifyCode.VALID, VerifyCode.VALID, VerifyCode.RATE_LIMITED]);
    expect(verdicts[0]!.identity).toMatchObject({ id: identity!.id, externalId: "org_42", meta: { plan: "pro" } });
    expect(verdicts[2]!.rateLimits).toMatchObject([{ name: "api", limit: 3n, remaining: 0n, exceeded: false }]);
    expect(verdicts[3]!.rateLimits).toMatchObject([{ name: "api", exceeded: true }]);
    expect((await api.verify.verifyKey({ key: loner.secret })).code).toBe(VerifyCode.VALID);
  });

  it("sees an identity's new limits and meta on the next verification", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const { identity } = await api.identities.createIdentity({ identity: { externalId: "org_42", meta: { plan: "pro" } } });
    const { secret } = await api.keys.createKey({ key: { keyspaceId: keyspace.id, externalId: "org_42" } });
    expect((await api.verify.verifyKey({ key: secret })).identity!.meta).toEqual({ plan: "pro" });
    await api.identities.updateIdentity({
      identity: { id: identity!.id, meta: { plan: "free" }, rateLimits: [{ ...limit, limit: 1n }] },
      updateMask: { paths: ["meta", "rate_limits"] },
    });
    const next = await api.verify.verifyKey({ key: secret });
    expect(next.identity!.meta).toEqual({ plan: "free" });
    expect((await api.verify.verifyKey({ key: secret })).code).toBe(VerifyCode.RATE_LIMITED);
  });

  it("links keys that were created before their identity", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const { secret } = await api.keys.createKey({ key: { keyspaceId: keyspace.id, externalId: "late" } });
    expect((await api.verify.verifyKey({ key: secret })).identity).toBeUndefined();
    await api.identities.createIdentity({ identity: { externalId: "late", meta: { found: true } } });
    expect((await api.verify.verifyKey({ key: secret })).identity!.meta).toEqual({ found: true });
  });
});
