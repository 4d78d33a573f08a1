import { MemoryAnalytics } from "./analytics/memory.js";
import { memoryAuditLog } from "./audit/memory.js";
import { memoryChangeLog } from "./changes/memory.js";
import { memoryCredits } from "./credits/memory.js";
import { memoryIdempotency } from "./idempotency/memory.js";
import { MemoryKeyRecords, memoryKeys } from "./keys/memory.js";
import { memoryRateLimitWindows } from "./rate-limit-windows/memory.js";
import { MemoryRatelimits } from "./ratelimits/memory.js";
import { memoryRbac } from "./rbac/memory.js";
import { ComposedStore } from "./store.js";
import { memoryTables } from "./tables/memory.js";

/** Keeps everything in this process; nothing survives a restart. For development and tests. */
export class MemoryStore extends ComposedStore {
  constructor() {
    const tables = memoryTables();
    const keys = new MemoryKeyRecords();
    super({
      description: "in-memory store (nothing persists across restarts)",
      ...tables,
      ...memoryRbac(keys),
      ...memoryIdempotency(),
      ...memoryKeys(keys, tables.rootKeys),
      ...memoryCredits(keys),
      ...memoryRateLimitWindows(),
      ...memoryChangeLog(),
      ...memoryAuditLog(),
      ratelimits: new MemoryRatelimits(),
      analytics: new MemoryAnalytics(),
      checkHealth: async () => {},
      close: async () => {},
    });
  }
}
