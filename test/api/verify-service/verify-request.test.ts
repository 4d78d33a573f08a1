import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { RateLimitResultSchema, VerifyCode, VerifyKeyResponseSchema } from "../../../gen/latchkey/v1/verify_pb.js";
import { verifyResultToProto } from "../../../src/api/verify-service/verify-request.js";
import { compileKey } from "../../../src/domain/verification.js";
import { encodingOf } from "../../../src/transport/encoding.js";
import { keyRecord } from "../../support/fixtures.js";

const key = compileKey(keyRecord({ name: "checkout", permissions: ["documents.read"], meta: { plan: "pro" }, expiresAt: new Date(Date.UTC(2027, 0, 1)) }));
const limits = [
  { name: "api", limit: 100, remaining: 41, resetAt: Date.UTC(2026, 11, 4, 19, 0, 0, 250), exceeded: false },
  { name: "burst", limit: 5, remaining: 0, resetAt: Date.UTC(2026, 11, 4, 19, 0, 1), exceeded: true },
  { name: "", limit: 0, remaining: 0, resetAt: 0, exceeded: false },
];

/** The answer as it was built before: one message with every field, encoded whole. */
const whole = (creditsRemaining: number | undefined, rateLimits: typeof limits) =>
  create(VerifyKeyResponseSchema, {
    valid: true,
    code: VerifyCode.VALID,
    keyId: key.record.id,
    keyspaceId: key.record.keyspaceId,
    name: "checkout",
    meta: { plan: "pro" },
    permissions: key.permissions,
    expiresAt: timestampFromMs(Date.UTC(2027, 0, 1)),
    creditsRemaining: creditsRemaining === undefined ? undefined : BigInt(creditsRemaining),
    rateLimits: rateLimits.map((limit) =>
      create(RateLimitResultSchema, {
        name: limit.name,
        limit: BigInt(limit.limit),
        remaining: BigInt(limit.remaining),
        resetAt: timestampFromMs(limit.resetAt),
        exceeded: limit.exceeded,
      }),
    ),
  });

describe("a verification's answer with credits or rate limits", () => {
  for (const [what, creditsRemaining, rateLimits] of [
    ["credits", 999, []],
    ["no credits left", 0, []],
    ["rate limits", undefined, limits],
    ["credits and rate limits", 7, limits.slice(0, 1)],
    [
      "a negative balance, a name past ASCII and counts past 32 bits",
      -5,
      [{ name: "überlauf-λ", limit: 2 ** 50, remaining: 2 ** 40 + 3, resetAt: Date.UTC(2100, 0, 1, 0, 0, 0, 999), exceeded: true }],
    ],
  ] as const) {
    it(`with ${what}: the steady part encoded once, the counters added, decoding to the whole answer`, () => {
      const result = { verdict: "valid" as const, key, creditsRemaining, rateLimits };
      const first = verifyResultToProto(result);
      const bytes = encodingOf(first)!;
      const expected = whole(creditsRemaining, [...rateLimits]);
      expect(fromBinary(VerifyKeyResponseSchema, bytes)).toEqual(fromBinary(VerifyKeyResponseSchema, toBinary(VerifyKeyResponseSchema, expected)));
      // What a transport encoding the message itself (Connect, gRPC-Web, JSON) makes of it and sends.
      const made = create(VerifyKeyResponseSchema, first);
      expect(made).toEqual(fromBinary(VerifyKeyResponseSchema, bytes));
      expect(fromBinary(VerifyKeyResponseSchema, toBinary(VerifyKeyResponseSchema, made))).toEqual(fromBinary(VerifyKeyResponseSchema, bytes));
      expect(bytes.length).toBe(toBinary(VerifyKeyResponseSchema, expected).length);

      const second = verifyResultToProto({ ...result, creditsRemaining: creditsRemaining === undefined ? undefined : creditsRemaining + 1 });
      expect(second).not.toBe(first);
      expect(encodingOf(first)).toBe(bytes);
    });
  }

  it("refuses a counter that is not a whole number rather than writing it wrong, as protobuf-es would", () => {
    for (const resetAt of [Number.POSITIVE_INFINITY, Number.NaN, 1e-7, 2 ** 64]) {
      expect(() => verifyResultToProto({ verdict: "valid", key, rateLimits: [{ ...limits[0]!, resetAt }] })).toThrow(RangeError);
    }
    expect(() => verifyResultToProto({ verdict: "valid", key, creditsRemaining: Number.POSITIVE_INFINITY, rateLimits: [] })).toThrow(RangeError);
  });

  it("leaves an answer without counters as the one steady message of its key and verdict", () => {
    const first = verifyResultToProto({ verdict: "valid", key, rateLimits: [] });
    expect(verifyResultToProto({ verdict: "valid", key, rateLimits: [] })).toBe(first);
    expect(encodingOf(first)).toEqual(Buffer.from(toBinary(VerifyKeyResponseSchema, whole(undefined, []))));
  });
});
