import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { GetVerificationsResponseSchema } from "../../../gen/latchkey/v1/analytics_pb.js";
import { bucketToProto } from "../../../src/api/analytics-service/convert.js";
import { encodeVerificationsResponse } from "../../../src/api/analytics-service/encode-buckets.js";
import type { Bucket } from "../../../src/domain/analytics/query.js";

const bucket = (overrides: Partial<Bucket>): Bucket => ({
  time: new Date(Date.UTC(2026, 5, 1)),
  keyspaceId: "",
  keyId: "",
  externalId: "",
  outcome: "",
  tag: "",
  tagsOverflowed: false,
  outcomes: {},
  credits: 0,
  ...overrides,
});

describe("encodeVerificationsResponse", () => {
  const buckets = [
    bucket({ keyId: "key_2abc", outcomes: { valid: 216, rate_limited: 24 }, credits: 216 }),
    bucket({
      time: new Date(Date.UTC(2026, 5, 1, 7, 30, 15, 250)),
      keyspaceId: "ks_1",
      externalId: "acme ünïcödé 🎉",
      outcome: "rate_limited",
      tag: "path=/v1/x",
      tagsOverflowed: true,
      outcomes: { rate_limited: 2 ** 40, valid: 0 },
    }),
    bucket({ outcome: "valid", outcomes: { valid: 2 ** 52, usage_exceeded: 2 ** 52 - 1 }, credits: 2 ** 53 - 1 }),
    bucket({ time: new Date(0) }),
    bucket({ outcomes: { an_outcome_named_as_counted: 3 } }),
  ];

  it("writes the bytes toBinary writes for the buckets as protos, every field and map entry, with and without a page token", () => {
    for (const nextPageToken of ["", "WzE3NDg3MzYwMDAwMDAsIiJd"]) {
      for (const page of [buckets, [], [buckets[0]!]]) {
        const protos = page.map(bucketToProto);
        const expected = toBinary(GetVerificationsResponseSchema, create(GetVerificationsResponseSchema, { buckets: protos, nextPageToken }));
        const written = encodeVerificationsResponse(page, nextPageToken);
        expect(Buffer.from(written!).equals(Buffer.from(expected))).toBe(true);
        expect(fromBinary(GetVerificationsResponseSchema, written!).buckets).toEqual(protos);
      }
    }
  });

  it("leaves a total beyond a safe integer, a negative or fractional count, a time before 1970 and an outcome that is no verdict to toBinary", () => {
    expect(encodeVerificationsResponse([bucket({ outcomes: { valid: 2 ** 53 - 1, rate_limited: 1 } })], "")).toBeUndefined();
    expect(encodeVerificationsResponse([bucket({ outcomes: { valid: -1 } })], "")).toBeUndefined();
    expect(encodeVerificationsResponse([bucket({ credits: 0.5 })], "")).toBeUndefined();
    expect(encodeVerificationsResponse([bucket({ time: new Date(-1000) })], "")).toBeUndefined();
    expect(encodeVerificationsResponse([bucket({ outcome: "passed" })], "")).toBeUndefined();
  });
});
