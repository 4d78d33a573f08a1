import { Code } from "@connectrpc/connect";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { expectCode, testApi } from "../../support/api.js";

describe("CreateKeyspace", () => {
  it("OK: fills defaults for what it is not given", async () => {
    const api = testApi();
    const { keyspace } = await api.keyspaces.createKeyspace({ keyspace: { name: "payments" } });
    expect(keyspace).toMatchObject({ name: "payments", defaultPrefix: "lk", defaultByteLength: 16, startLength: 4 });
    expect(keyspace!.id).toMatch(/^ks_/);
    expect(timestampMs(keyspace!.createdAt!)).toBe(api.clock.now);
    expect((await api.keyspaces.getKeyspace({ id: keyspace!.id })).keyspace).toEqual(keyspace);
  });

  it("OK: keeps what it is given, a start length of 0 included", async () => {
    const { keyspace } = await testApi().keyspaces.createKeyspace({
      keyspace: { id: "ignored", name: "p", defaultPrefix: "sk_live", defaultByteLength: 32, startLength: 0 },
    });
    expect(keyspace).toMatchObject({ defaultPrefix: "sk_live", defaultByteLength: 32, startLength: 0 });
    expect(keyspace!.id).not.toBe("ignored");
  });

  it.each([
    ["no keyspace", {}, "keyspace must be set"],
    ["an empty name", { keyspace: { name: " " } }, "keyspace.name"],
    ["a name past 128 characters once its blanks are counted", { keyspace: { name: `${"n".repeat(128)} ` } }, "keyspace.name must be 1 to 128 characters"],
    ["a prefix with capitals", { keyspace: { name: "p", defaultPrefix: "Pay" } }, "keyspace.default_prefix"],
    ["a prefix ending in underscore", { keyspace: { name: "p", defaultPrefix: "pay_" } }, "keyspace.default_prefix"],
    ["a 17-character prefix", { keyspace: { name: "p", defaultPrefix: "a".repeat(17) } }, "keyspace.default_prefix"],
    ["fewer than 128 random bits", { keyspace: { name: "p", defaultByteLength: 8 } }, "keyspace.default_byte_length"],
    ["too many random bytes", { keyspace: { name: "p", defaultByteLength: 65 } }, "keyspace.default_byte_length"],
    ["a long visible start", { keyspace: { name: "p", startLength: 7 } }, "keyspace.start_length"],
  ])("INVALID_ARGUMENT: %s", async (_, request, message) => {
    await expectCode(testApi().keyspaces.createKeyspace(request), Code.InvalidArgument, message);
  });
});
