import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { GetVerificationsResponseSchema, VerificationBucketSchema } from "../../../gen/latchkey/v1/analytics_pb.js";
import { VerifyCode } from "../../../gen/latchkey/v1/verify_pb.js";
import { encodeVerificationsResponse } from "../../../src/api/analytics-service/encode-buckets.js";

describe("encodeVerificationsResponse", () => {
  const buckets = [
    create(VerificationBucketSchema, {
      time: timestampFromMs(Date.UTC(2026, 5, 1)),
      keyId: "key_2abc",
      total: 240n,
      valid: 216n,
      outcomes: { VERIFY_CODE_VALID: 216n, VERIFY_CODE_RATE_LIMITED: 24n },
      creditsSpent: 216n,
    }),
    create(VerificationBucketSchema, {
      time: timestampFromMs(Date.UTC(2026, 5, 1, 7, 30, 15, 250)),
      keyspaceId: "ks_1",
      externalId: "acme ünïcödé 🎉",
      outcome: VerifyCode.RATE_LIMITED,
      tag: "path=/v1/x",
      tagsOverflowed: true,
      total: 2n ** 40n,
      outcomes: { VERIFY_CODE_RATE_LIMITED: 2n ** 40n, VERIFY_CODE_VALID: 0n },
    }),
    create(VerificationBucketSchema, { time: timestampFromMs(0) }),
    create(VerificationBucketSchema, {}),
  ];

  it("writes the bytes toBinary writes, every field and map entry, with and without a page token", () => {
    for (const nextPageToken of ["", "WzE3NDg3MzYwMDAwMDAsIiJd"]) {
      for (const page of [buckets, [], [buckets[0]!]]) {
        const expected = toBinary(GetVerificationsResponseSchema, create(GetVerificationsResponseSchema, { buckets: page, nextPageToken }));
        const written = encodeVerificationsResponse(page, nextPageToken);
        expect(Buffer.from(written!).equals(Buffer.from(expected))).toBe(true);
        expect(fromBinary(GetVerificationsResponseSchema, written!).buckets).toEqual(page);
      }
    }
  });

  it("leaves a negative or unsafe integer to toBinary", () => {
    expect(encodeVerificationsResponse([create(VerificationBucketSchema, { total: 2n ** 60n })], "")).toBeUndefined();
    expect(encodeVerificationsResponse([create(VerificationBucketSchema, { time: timestampFromMs(-1000) })], "")).toBeUndefined();
  });
});
