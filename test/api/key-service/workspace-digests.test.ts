import { createHash, randomBytes } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { DigestEncoding } from "../../../gen/latchkey/v1/key_pb.js";
import { VerifyCode } from "../../../gen/latchkey/v1/verify_pb.js";
import { MemoryStore } from "../../../src/store/memory.js";
import { type Clients, createKeyspace, expectCode, testApi } from "../../support/api.js";
import { countingStore } from "../../support/counting-store.js";

const plaintext = (value: string) => ({ case: "plaintext" as const, value });
const hexDigest = (secret: string) => ({
  case: "digest" as const,
  value: { value: createHash("sha256").update(secret).digest("hex"), encoding: DigestEncoding.HEX },
});

async function importOne(api: Clients, secret: ReturnType<typeof plaintext> | ReturnType<typeof hexDigest>, name: string) {
  const keyspace = await createKeyspace(api, `${name}-keys`);
  const { results } = await api.keys.importKeys({ keyspaceId: keyspace.id, keys: [{ secret, key: { name } }] });
  return results[0]!;
}

/** Two tenants of one deployment; the same secret may exist in both, as two keys that know nothing of each other. */
async function tenants() {
  const api = testApi();
  const a = api.as((await api.workspace()).secret);
  const b = api.as((await api.newWorkspace("tenant b")).secret);
  return { api, a, b };
}

describe("a key's digest belongs to its workspace", () => {
  it("importing a secret that exists only in another workspace makes a key of one's own, and tells nothing of the other", async () => {
    const { a, b } = await tenants();
    const secret = `legacy_${randomBytes(16).toString("hex")}`;
    const ours = await importOne(a, plaintext(secret), "ours");
    const theirs = await importOne(b, plaintext(secret), "theirs");
    expect([ours.errorCode, theirs.errorCode]).toEqual(["", ""]);
    expect(theirs.key!.id).not.toBe(ours.key!.id);
    expect(await a.verify.verifyKey({ key: secret })).toMatchObject({ code: VerifyCode.VALID, keyId: ours.key!.id, name: "ours" });
    expect(await b.verify.verifyKey({ key: secret })).toMatchObject({ code: VerifyCode.VALID, keyId: theirs.key!.id, name: "theirs" });
    expect((await a.keys.whoAmI({ key: secret })).key!.id).toBe(ours.key!.id);
    expect((await b.keys.whoAmI({ key: secret })).key!.id).toBe(theirs.key!.id);
    await b.keys.revokeKey({ id: theirs.key!.id });
    expect((await a.verify.verifyKey({ key: secret })).code).toBe(VerifyCode.VALID);
    expect((await b.verify.verifyKey({ key: secret })).code).toBe(VerifyCode.REVOKED);
  });

  it("a digest imported first by another workspace does not stop its owner's later import", async () => {
    const { a, b } = await tenants();
    const legacy = `mig_${randomBytes(16).toString("hex")}`;
    expect((await importOne(b, hexDigest(legacy), "squatter")).errorCode).toBe("");
    const owners = await importOne(a, hexDigest(legacy), "customer");
    expect(owners.errorCode).toBe("");
    expect(await a.verify.verifyKey({ key: legacy })).toMatchObject({ code: VerifyCode.VALID, keyId: owners.key!.id });
  });

  it("ALREADY_EXISTS only for a secret of the same workspace, a previous secret included", async () => {
    const { a } = await tenants();
    const secret = `dup_${randomBytes(16).toString("hex")}`;
    const first = await importOne(a, plaintext(secret), "first");
    expect((await importOne(a, plaintext(secret), "again")).errorCode).toBe("ALREADY_EXISTS");
    await a.keys.rerollKey({ id: first.key!.id, gracePeriodMs: 60_000n });
    expect((await importOne(a, hexDigest(secret), "previous")).errorCode).toBe("ALREADY_EXISTS");
  });

  it("WhoAmI reads the store once, whether the secret is found, someone else's or unknown", async () => {
    const { store, calls } = countingStore(new MemoryStore());
    const api = testApi(store);
    const other = testApi(store).as((await api.newWorkspace("other")).secret);
    const keyspace = await createKeyspace(api);
    const { secret } = await api.keys.createKey({ key: { keyspaceId: keyspace.id } });
    const theirs = (await other.keys.createKey({ key: { keyspaceId: (await createKeyspace(other, "theirs")).id } })).secret;
    await api.keys.whoAmI({ key: secret });
    for (const presented of [secret, theirs, `pay_${randomBytes(16).toString("hex")}`]) {
      calls.clear();
      await api.keys.whoAmI({ key: presented }).catch(() => undefined);
      expect(Object.fromEntries(calls)).toEqual({ findKeyByHash: 1 });
    }
    await expectCode(api.keys.whoAmI({ key: theirs }), Code.NotFound);
  });
});
