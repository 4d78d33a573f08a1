/**
 * How a key's or identity's limit counts: in the fixed windows of domain/fixed-window.ts, or in the
 * sliding windows of domain/sliding-window.ts, exact over any span of the duration.
 */
export type RateLimitAlgorithm = "fixed_window" | "sliding_window";

/** The counter of a key's own limit, or of an identity's (shared by all its keys). */
export const limitCounter = (owner: "key" | "identity", id: string, name: string) => `${owner}:${id}:${name}`;

/**
 * The sliding-window counter of a limit counted in `counter`: no RatelimitService namespace
 * starts with `~`, so it never shares a counter with Limit's identifiers.
 */
export const slidingLimitCounter = (counter: string) => `~${counter}`;
