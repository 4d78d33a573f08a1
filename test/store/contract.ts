import type { Store } from "../../src/store/store.js";
import { analyticsContract } from "./analytics/contract.js";
import { auditContract } from "./audit/contract.js";
import { changeLogContract } from "./changes/contract.js";
import { creditsContract } from "./credits/contract.js";
import { idempotencyContract } from "./idempotency/contract.js";
import { keysContract } from "./keys/contract.js";
import { rateLimitWindowsContract } from "./rate-limit-windows/contract.js";
import { rbacContract } from "./rbac/contract.js";
import { tablesContract } from "./tables/contract.js";

/**
 * The behaviour every Store adapter must show: each capability's part of the contract (beside it
 * in test/store/<capability>/contract.ts), each against a fresh store. Each adapter's test file
 * runs it; rate limiting as a service has its own test files (test/store/ratelimits).
 */
export function storeContract(name: string, openStore: () => Promise<Store>) {
  for (const part of [
    tablesContract,
    idempotencyContract,
    rbacContract,
    auditContract,
    keysContract,
    creditsContract,
    changeLogContract,
    rateLimitWindowsContract,
    analyticsContract,
  ]) {
    part(name, openStore);
  }
}
