import type { IdempotentRequestRecord } from "../../domain/idempotency.js";
import { MemoryTable } from "../tables/memory.js";
import type { IdempotencyStore } from "./index.js";

export function memoryIdempotency(): IdempotencyStore {
  const requests = new MemoryTable<IdempotentRequestRecord>("request");
  return {
    requests,
    async pruneRequests(before) {
      for (const request of await requests.list({}, { limit: Number.MAX_SAFE_INTEGER })) {
        if (request.startedAt < before) await requests.delete({ id: request.id });
      }
    },
  };
}
