import { createHash, randomBytes } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { DigestEncoding } from "../../../gen/latchkey/v1/key_pb.js";
import { VerifyCode } from "../../../gen/latchkey/v1/verify_pb.js";
import { newId } from "../../../src/domain/ids.js";
import { MemoryStore } from "../../../src/store/memory.js";
import { createKeyspace, expectCode, type TestApi, testApi } from "../../support/api.js";
import { countingStore } from "../../support/counting-store.js";

const sha256 = (secret: string) => createHash("sha256").update(secret).digest();
const plaintext = (value: string) => ({ case: "plaintext" as const, value });
const digest = (value: string, encoding: DigestEncoding) => ({ case: "digest" as const, value: { value, encoding } });

/** Secrets shaped as the seeds issue them. */
const foreign = {
  unkey: `prod_${randomBytes(16).toString("base64url")}`,
  betterAuth: randomBytes(48).toString("base64url").slice(0, 64),
  mixpeek: `mxp_sk_${randomBytes(24).toString("hex")}`,
};

async function importInto(api: TestApi, keys: Parameters<TestApi["keys"]["importKeys"]>[0]["keys"]) {
  const keyspace = await createKeyspace(api);
  return { keyspace, results: (await api.keys.importKeys({ keyspaceId: keyspace.id, keys })).results };
}

describe("ImportKeys", () => {
  it("OK: by plaintext of any format, and by digest in hex, base64 and base64url; each verifies with its secret and keeps its fields", async () => {
    const api = testApi();
    const byDigest = {
      hex: `lk_${randomBytes(20).toString("hex")}`,
      base64: `sk_${randomBytes(20).toString("hex")}`,
      base64url: randomBytes(40).toString("hex"),
    };
    const { results } = await importInto(api, [
      { secret: plaintext(foreign.unkey), key: { name: "unkey", permissions: ["documents.read"], credits: { remaining: 5n } } },
      { secret: plaintext(foreign.betterAuth), key: { name: "better auth", meta: { plan: "pro" } } },
      { secret: plaintext(foreign.mixpeek), key: { name: "mixpeek", prefix: "mxp" } },
      { secret: digest(sha256(byDigest.hex).toString("hex"), DigestEncoding.HEX), key: { name: "hex" } },
      { secret: digest(sha256(byDigest.base64).toString("base64"), DigestEncoding.BASE64), key: { name: "base64" } },
      { secret: digest(sha256(byDigest.base64url).toString("base64url"), DigestEncoding.BASE64URL), key: { name: "base64url" } },
    ]);
    expect(results.map((result) => [result.key?.name, result.errorCode])).toEqual([
      ["unkey", ""],
      ["better auth", ""],
      ["mixpeek", ""],
      ["hex", ""],
      ["base64", ""],
      ["base64url", ""],
    ]);
    expect(results[0]!.key).toMatchObject({ prefix: "prod", permissions: ["documents.read"], credits: { remaining: 5n } });
    expect(foreign.unkey.startsWith(results[0]!.key!.start)).toBe(true);
    expect(results[2]!.key).toMatchObject({ prefix: "mxp" });
    expect(results[3]!.key).toMatchObject({ prefix: "", start: "" });

    const verified = await api.verify.verifyKey({ key: foreign.unkey, permissionQuery: "documents.read" });
    expect(verified).toMatchObject({ code: VerifyCode.VALID, keyId: results[0]!.key!.id, creditsRemaining: 4n });
    for (const secret of [foreign.betterAuth, foreign.mixpeek, ...Object.values(byDigest)]) {
      expect((await api.verify.verifyKey({ key: secret })).code).toBe(VerifyCode.VALID);
    }
    expect((await api.keys.whoAmI({ key: foreign.mixpeek })).key!.name).toBe("mixpeek");
    const { events } = await api.audit.listAuditEvents({ action: "key.import" });
    expect(events[0]!.summary).toMatchObject({ imported: 6, failed: 0 });
  });

  it("OK: reports a duplicate per item (within the call, or of an existing key) and imports the rest", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const existing = await api.keys.createKey({ key: { keyspaceId: keyspace.id } });
    const { results } = await api.keys.importKeys({
      keyspaceId: keyspace.id,
      keys: [
        { secret: plaintext(foreign.unkey) },
        { secret: digest(sha256(foreign.unkey).toString("base64"), DigestEncoding.BASE64) },
        { secret: plaintext(existing.secret) },
        { secret: plaintext(foreign.mixpeek) },
      ],
    });
    expect(results.map((result) => result.errorCode)).toEqual(["", "ALREADY_EXISTS", "ALREADY_EXISTS", ""]);
    expect(results[1]!.errorMessage).toBe("keys[1] has the secret of a key that already exists");
    expect((await api.keys.listKeys({ keyspaceId: keyspace.id })).keys).toHaveLength(3);
  });

  it("INVALID_ARGUMENT or NOT_FOUND per item: a digest that is not 32 bytes in its encoding, an expiry in the past, an unknown role; the other items are imported", async () => {
    const api = testApi();
    const { results } = await importInto(api, [
      { secret: digest("ab".repeat(31), DigestEncoding.HEX) },
      { secret: digest(sha256("x").toString("hex"), DigestEncoding.BASE64) },
      { secret: plaintext(foreign.unkey), key: { expiresAt: { seconds: 1n } } },
      { secret: plaintext(foreign.mixpeek), key: { roles: ["no-such-role"] } },
      { secret: plaintext(foreign.betterAuth) },
    ]);
    expect(results.map((result) => result.errorCode)).toEqual(["INVALID_ARGUMENT", "INVALID_ARGUMENT", "INVALID_ARGUMENT", "NOT_FOUND", ""]);
    expect(results[0]!.errorMessage).toBe("keys[0].digest.value is not a SHA-256 digest in HEX");
    expect(results[2]!.errorMessage).toContain("keys[2].key.expires_at");
    expect(results[3]!.errorMessage).toContain("keys[3].key.roles[0]");
  });

  it("INVALID_ARGUMENT for the whole call: no keys, more than 1000, an item without a secret, a short plaintext, a field past its proto rules, a malformed keyspace id", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const keyspaceId = keyspace.id;
    await expectCode(api.keys.importKeys({ keyspaceId, keys: [] }), Code.InvalidArgument, "keys");
    const many = Array.from({ length: 1001 }, (_, i) => ({ secret: plaintext(`imported_key_${i}`) }));
    await expectCode(api.keys.importKeys({ keyspaceId, keys: many }), Code.InvalidArgument, "keys");
    await expectCode(api.keys.importKeys({ keyspaceId, keys: [{ key: { name: "no secret" } }] }), Code.InvalidArgument, "keys[0].secret");
    await expectCode(api.keys.importKeys({ keyspaceId, keys: [{ secret: plaintext("short") }] }), Code.InvalidArgument, "keys[0].plaintext");
    const long = { secret: plaintext(foreign.unkey), key: { name: "x".repeat(300) } };
    await expectCode(api.keys.importKeys({ keyspaceId, keys: [long] }), Code.InvalidArgument, "keys[0].key.name");
    await expectCode(api.keys.importKeys({ keyspaceId: "ks_nope", keys: [{ secret: plaintext(foreign.unkey) }] }), Code.InvalidArgument, "keyspace_id");
  });

  it("NOT_FOUND: no such keyspace", async () => {
    const api = testApi();
    const keyspaceId = newId("ks", Date.now());
    await expectCode(api.keys.importKeys({ keyspaceId, keys: [{ secret: plaintext(foreign.unkey) }] }), Code.NotFound, `keyspace ${keyspaceId} not found`);
  });

  it("costs no storage read for a made-up secret of a foreign format once the known-digest filter is built", async () => {
    const { store, calls } = countingStore(new MemoryStore());
    const api = testApi(store);
    await importInto(api, [{ secret: plaintext(foreign.unkey) }]);
    await api.verification.known.rebuild();
    calls.clear();
    for (let i = 0; i < 50; i++) expect((await api.verify.verifyKey({ key: `prod_${randomBytes(16).toString("base64url")}` })).code).toBe(VerifyCode.NOT_FOUND);
    expect(calls.get("findKeyByHash") ?? 0).toBe(0);
    expect((await api.verify.verifyKey({ key: foreign.unkey })).code).toBe(VerifyCode.VALID);
  });

  it("an item refused as a duplicate registers none of its permissions", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    await api.keys.importKeys({ keyspaceId: keyspace.id, keys: [{ secret: { case: "plaintext", value: "pay_abcdefghijkl" } }] });
    const { results } = await api.keys.importKeys({
      keyspaceId: keyspace.id,
      keys: [
        { secret: { case: "plaintext", value: "pay_mnopqrstuvwx" }, key: { permissions: ["documents.read"] } },
        { secret: { case: "plaintext", value: "pay_mnopqrstuvwx" }, key: { permissions: ["ghost.read"] } },
        { secret: { case: "plaintext", value: "pay_abcdefghijkl" }, key: { permissions: ["ghost.write"] } },
      ],
    });
    expect(results.map((result) => result.errorCode)).toEqual(["", "ALREADY_EXISTS", "ALREADY_EXISTS"]);
    expect((await api.rbac.listPermissions({})).permissions.map((permission) => permission.name)).toEqual(["documents.read"]);
  });
});
