/**
 * A request made with a `request_id` (AIP-155): the first call's answer is kept, so a retry with
 * the same id gets it again instead of doing the work twice.
 */
export interface IdempotentRequestRecord {
  /**
   * The caller (its workspace and root key, or the operator), the method and the request id: ids
   * are the caller's own, so one root key never meets, learns of or blocks another's.
   */
  id: string;
  /** SHA-256 of the request without its request_id: a different request under the same id is refused. */
  fingerprint: string;
  /** Running: another call with the id is told to retry. Done: `response` holds the answer, secrets removed. */
  state: "running" | "done";
  /** The answer, protobuf binary as base64, once done. */
  response: string | null;
  /** The ids the first call acted on, as its audit event names them: a retry is checked against them and audited with them. */
  targets: string[];
  /** When the first call started (ms since the epoch); a running claim this old was abandoned by a crash. */
  startedAt: number;
}

/** How long an answer is kept for retries. */
export const REQUEST_RETENTION_MS = 24 * 3600_000;
/** A claim still running after this long is taken to be abandoned (its instance died), and may be run again. */
export const ABANDONED_REQUEST_MS = 60_000;
