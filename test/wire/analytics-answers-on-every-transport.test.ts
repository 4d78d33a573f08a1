import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AnalyticsService, Granularity, VerificationGrouping } from "../../gen/latchkey/v1/analytics_pb.js";
import { KeyspaceService } from "../../gen/latchkey/v1/keyspace_pb.js";
import { DEFAULT_RETENTION } from "../../src/domain/analytics/buckets.js";
import { VERIFICATION_SOURCE } from "../../src/domain/analytics/counts.js";
import { documentsOf } from "../../src/domain/analytics/documents.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { transportsOf } from "../support/transports.js";

let server: TestServer;
let keyspaceId = "";
const DAY = Date.UTC(2026, 5, 1);

/**
 * GetVerifications writes its own response bytes for the native grpc-js port
 * (src/api/analytics-service/encode-buckets.ts): every transport must decode the same answer.
 */
beforeAll(async () => {
  server = await startTestServer();
  const keyspaces = createClient(KeyspaceService, transportsOf(() => server)[0]![1]());
  keyspaceId = (await keyspaces.createKeyspace({ keyspace: { name: "analytics" } })).keyspace!.id;
  const counts = ["key_a", "key_b", "key_c"].flatMap((keyId, i) =>
    [0, 1].map((day) => ({
      source: VERIFICATION_SOURCE,
      workspaceId: server.workspaceId,
      keyspaceId,
      keyId,
      externalId: i === 0 ? "acme" : "",
      tags: i === 1 ? ["plan.pro", "région ünïcode"] : [],
      overflow: false,
      minute: DAY + day * 86_400_000 + i * 3_600_000,
      outcomes: { valid: 5 + i, rate_limited: day },
      credits: 5 + i,
    })),
  );
  await server.store.analytics.add(documentsOf(counts, DEFAULT_RETENTION, () => true));
});
afterAll(() => server.stop());

describe("GetVerifications on every transport", () => {
  it("answers the same pages of buckets on each, native grpc-js port included", async () => {
    const answers = [];
    for (const [, transport] of transportsOf(() => server)) {
      const analytics = createClient(AnalyticsService, transport());
      const pages = [];
      let pageToken = "";
      do {
        const page = await analytics.getVerifications({
          startTime: timestampFromMs(DAY),
          endTime: timestampFromMs(DAY + 2 * 86_400_000),
          granularity: Granularity.DAY,
          keyspaceId,
          groupBy: [VerificationGrouping.KEY, VerificationGrouping.TAG],
          pageSize: 4,
          pageToken,
        });
        pages.push(
          page.buckets.map((bucket) => [bucket.time?.seconds, bucket.keyId, bucket.tag, bucket.total, bucket.valid, bucket.outcomes, bucket.creditsSpent]),
        );
        pageToken = page.nextPageToken;
      } while (pageToken);
      answers.push(pages);
    }
    expect(answers[0]!.flat()).toHaveLength(8);
    expect(answers[0]!.flat()).toContainEqual([
      BigInt(DAY / 1000 + 86_400),
      "key_b",
      "région ünïcode",
      7n,
      6n,
      { VERIFY_CODE_VALID: 6n, VERIFY_CODE_RATE_LIMITED: 1n },
      6n,
    ]);
    for (const answer of answers) expect(answer).toEqual(answers[0]);
  });
});
