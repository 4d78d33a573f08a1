import type { IdempotentRequestRecord } from "../../domain/idempotency.js";
import type { MongoTable } from "../tables/mongodb.js";
import type { IdempotencyStore } from "./index.js";

export function mongoIdempotency(requests: MongoTable<IdempotentRequestRecord>): IdempotencyStore {
  return {
    requests,
    async pruneRequests(before) {
      await requests.collection.deleteMany({ startedAt: { $lt: before } });
    },
  };
}
