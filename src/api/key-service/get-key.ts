import type { MessageInitShape } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { GetKeyRequest, GetKeyResponseSchema } from "../../../gen/latchkey/v1/key_pb.js";
import type { KeyRecord } from "../../domain/key.js";
import { windowAt, windowLength } from "../../domain/fixed-window.js";
import { limitCounter, slidingLimitCounter } from "../../domain/key-rate-limits.js";
import { counterRecord, slidingUsage } from "../../domain/sliding-window.js";
import type { Store } from "../../store/store.js";
import { keyToProto, type RateLimitUsage } from "../mapping/keys.js";
import type { ServiceDeps } from "../deps.js";
import { callerIn } from "../../pipeline/context.js";
import { loadLiveKey, requireId } from "../requests.js";
import { revealedSecret } from "./recoverable.js";

/** Each of the key's own limits in its current window, from the store's counts (Better Auth's request_count). */
async function rateLimitUsage(store: Store, key: KeyRecord, now: number): Promise<RateLimitUsage> {
  const limits = key.rateLimits.map((limit) => ({ ...limit, durationMs: windowLength(limit.durationMs), counter: limitCounter("key", key.id, limit.name) }));
  const windows = limits.filter((limit) => limit.algorithm !== "sliding_window").map((limit) => ({ name: limit.name, window: windowAt(limit, now) }));
  const sliding = limits
    .filter((limit) => limit.algorithm === "sliding_window")
    .map((limit) => ({
      ...limit,
      record: counterRecord({ workspaceId: key.workspaceId, durationMs: limit.durationMs, counter: slidingLimitCounter(limit.counter) }),
    }));
  const [counts, cells] = await Promise.all([
    store.countRateLimits(windows.map(({ window }) => window)),
    store.ratelimits.readCells(sliding.map(({ record }) => record)),
  ]);
  return new Map([
    ...windows.map(({ name, window }) => [name, { used: counts.get(window.id) ?? 0, endsAt: window.endsAt }] as const),
    ...sliding.map(({ name, durationMs, record }) => [name, slidingUsage(cells.get(record) ?? new Map(), durationMs, now)] as const),
  ]);
}

/** With `decrypt`, the pipeline has checked key.decrypt and records the reading. */
export const getKey =
  ({ store, now, vault }: ServiceDeps) =>
  async (request: GetKeyRequest, context: HandlerContext): Promise<MessageInitShape<typeof GetKeyResponseSchema>> => {
    const key = await loadLiveKey(store, callerIn(context), requireId("key", request.id, "id"));
    const at = now();
    return { key: keyToProto(key, at, request.decrypt ? revealedSecret(vault, key) : "", await rateLimitUsage(store, key, at)) };
  };
