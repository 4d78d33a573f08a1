import type { IdempotentRequestRecord } from "../../domain/idempotency.js";
import type { RecordTable } from "../tables/index.js";

export interface IdempotencyStore {
  /** Answers kept for retries of requests with a request_id. */
  readonly requests: RecordTable<IdempotentRequestRecord>;
  /** Drops kept answers of requests started before `before`. */
  pruneRequests(before: number): Promise<void>;
}
