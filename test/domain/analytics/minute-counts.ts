import type { MinuteCount } from "../../../src/domain/analytics/counts.js";

/** A time as milliseconds. */
export const at = (iso: string) => Date.parse(iso);

/** One minute's count of one group, at the end of a month, with whatever differs from it. */
export const count = (overrides: Partial<MinuteCount> = {}): MinuteCount => ({
  source: "verification",
  workspaceId: "ws_a",
  keyspaceId: "ks_a",
  keyId: "key_a",
  externalId: "",
  tags: [],
  overflow: false,
  minute: at("2026-03-31T23:59:00Z"),
  outcomes: { valid: 2, rate_limited: 1 },
  credits: 2,
  ...overrides,
});
