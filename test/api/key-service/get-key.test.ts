import { createHash } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { toJsonString } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { GetKeyResponseSchema, KeyStatus, RateLimitAlgorithm } from "../../../gen/latchkey/v1/key_pb.js";
import { newId } from "../../../src/domain/ids.js";
import { CELLS_PER_WINDOW } from "../../../src/domain/sliding-window.js";
import { createKeyspace, expectCode, testApi } from "../../support/api.js";

describe("GetKey", () => {
  it("OK: never shows the secret again", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const created = await api.keys.createKey({ key: { keyspaceId: keyspace.id } });
    const response = await api.keys.getKey({ id: created.key!.id });
    expect(response.key).toEqual(created.key);
    expect(toJsonString(GetKeyResponseSchema, response)).not.toContain(created.secret.slice(8));
  });

  it("OK: shows the secret's SHA-256 (key_hash) and each rate limit's use of its current window", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const created = await api.keys.createKey({
      key: { keyspaceId: keyspace.id, rateLimits: [{ name: "rpm", limit: 100n, durationMs: 60_000n, autoApply: true }] },
    });
    expect(created.key!.keyHash).toBe(createHash("sha256").update(created.secret).digest("hex"));
    for (let i = 0; i < 3; i++) await api.verify.verifyKey({ key: created.secret });
    const [limit] = (await api.keys.getKey({ id: created.key!.id })).key!.rateLimits;
    // The instance reserved part of the window (a sixteenth of it) and admitted three from it.
    expect(limit!.used).toBeGreaterThanOrEqual(3n);
    expect(limit!.used).toBeLessThanOrEqual(100n);
    expect(timestampMs(limit!.windowEndsAt!)).toBeGreaterThan(api.clock.now);
  });

  it("OK: shows a sliding-window limit's use: what the last window holds, and when all of it has left", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const sliding = { name: "rpm", limit: 100n, durationMs: 60_000n, autoApply: true, algorithm: RateLimitAlgorithm.SLIDING_WINDOW };
    const created = await api.keys.createKey({ key: { keyspaceId: keyspace.id, rateLimits: [sliding] } });
    const unused = (await api.keys.getKey({ id: created.key!.id })).key!.rateLimits[0]!;
    expect(unused.used).toBe(0n);
    for (let i = 0; i < 3; i++) await api.verify.verifyKey({ key: created.secret });
    const lastCall = api.clock.now;
    const [limit] = (await api.keys.getKey({ id: created.key!.id })).key!.rateLimits;
    expect(limit!.used).toBeGreaterThanOrEqual(3n);
    expect(limit!.used).toBeLessThanOrEqual(100n);
    const endsAt = timestampMs(limit!.windowEndsAt!);
    expect(endsAt).toBeGreaterThan(lastCall + 60_000);
    expect(endsAt).toBeLessThanOrEqual(lastCall + 60_000 + 2 * (60_000 / CELLS_PER_WINDOW));
    api.clock.now = endsAt;
    expect((await api.keys.getKey({ id: created.key!.id })).key!.rateLimits[0]!.used).toBe(0n);
  });

  it("OK: reports EXPIRED from the millisecond the key expires", async () => {
    const api = testApi();
    const keyspace = await createKeyspace(api);
    const { key } = await api.keys.createKey({
      key: { keyspaceId: keyspace.id, expiresAt: { seconds: BigInt(Math.floor(api.clock.now / 1000) + 10) } },
    });
    api.clock.now = Math.floor(api.clock.now / 1000) * 1000 + 9999;
    expect((await api.keys.getKey({ id: key!.id })).key).toMatchObject({ status: KeyStatus.ACTIVE, expired: false });
    api.clock.now += 1;
    expect((await api.keys.getKey({ id: key!.id })).key).toMatchObject({ status: KeyStatus.EXPIRED, expired: true });
  });

  it("INVALID_ARGUMENT: empty or malformed id", async () => {
    const api = testApi();
    await expectCode(api.keys.getKey({ id: "" }), Code.InvalidArgument, "id must not be empty");
    await expectCode(api.keys.getKey({ id: "key_x" }), Code.InvalidArgument, "id is not a key id");
  });

  it("NOT_FOUND: unknown or deleted key", async () => {
    const api = testApi();
    await expectCode(api.keys.getKey({ id: newId("key", Date.now()) }), Code.NotFound);
    const keyspace = await createKeyspace(api);
    const { key } = await api.keys.createKey({ key: { keyspaceId: keyspace.id } });
    await api.keys.deleteKey({ id: key!.id });
    await expectCode(api.keys.getKey({ id: key!.id }), Code.NotFound, `key ${key!.id} not found`);
  });
});
