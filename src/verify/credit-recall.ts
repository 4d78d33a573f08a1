import type { CreditStore, KeyLookup } from "../store/store.js";
import type { CreditShareOptions, CreditSpend } from "./credit-shares.js";

/** How often a SET waiting for shares to come back reads the key. */
const RECALL_CHECK_MS = 20;

/** How often, at most, a key whose balance is all in others' shares asks the store for the expired ones (or the grace, if shorter). */
const RECLAIM_INTERVAL_MS = 1000;

export interface CreditRecallOptions {
  /**
   * Asks every instance to give back its share of the key (through the change feed): called when
   * this instance runs short while others hold units, at most once per `releaseRequestMs` per key.
   */
  requestRelease: (keyId: string) => void | Promise<void>;
  releaseRequestMs: number;
  /** How long a SET waits after asking for shares back before it trusts expiry alone. */
  recallWaitMs: number;
}

/**
 * Brings units other instances hold in shares (verify/credit-shares.ts) back to the balance: before
 * a SET, and when spending per call finds the balance held in others' shares.
 */
export class CreditRecall {
  private readonly reclaimedAt = new Map<string, number>();
  private readonly releaseRequestedAt = new Map<string, number>();
  private readonly reclaimInterval: number;

  constructor(
    private readonly store: KeyLookup & CreditStore,
    private readonly options: CreditRecallOptions & Pick<CreditShareOptions, "now" | "leaseMs" | "graceMs">,
  ) {
    this.reclaimInterval = Math.min(RECLAIM_INTERVAL_MS, options.graceMs);
  }

  /**
   * Before a SET: asks every holder to give its share of the key back, and waits until none holds
   * one it may still spend from (each is given back, or expired more than `graceMs` ago, after
   * which its holder spends nothing from it), and at least `recallWaitMs` after the first request
   * was recorded (a holder past its lease still spends only while its feed would have shown it the
   * request), at most `leaseMs + graceMs` more. Then the SET is exact.
   */
  async recall(keyId: string) {
    await this.options.requestRelease(keyId);
    const asked = this.options.now();
    const deadline = asked + this.options.recallWaitMs + this.options.leaseMs + this.options.graceMs;
    let requestedAt = asked;
    for (;;) {
      const now = this.options.now();
      const shares = Object.values((await this.store.getKey(keyId))?.credits?.shares ?? {});
      const live = shares.some((share) => share.expiresAt.getTime() >= now - this.options.graceMs);
      if (shares.length === 0 || (now - asked >= this.options.recallWaitMs && !live) || now >= deadline) return;
      if (now - requestedAt >= this.options.releaseRequestMs) {
        requestedAt = now;
        void this.options.requestRelease(keyId);
      }
      await new Promise((resolve) => setTimeout(resolve, RECALL_CHECK_MS));
    }
  }

  /**
   * Per call, exactly. When the balance covers the cost but others' shares hold it, those that
   * expired (their holders died) are taken back first, and every holder is asked to give its share back.
   */
  async spendExactly(keyId: string, cost: number): Promise<CreditSpend | null> {
    const spent = await this.store.spendCredits(keyId, cost);
    if (!spent || spent.spent || spent.remaining < cost) return spent;
    const now = this.options.now();
    if (now - (this.releaseRequestedAt.get(keyId) ?? -Infinity) >= this.options.releaseRequestMs) {
      this.releaseRequestedAt.set(keyId, now);
      void this.options.requestRelease(keyId);
    }
    if (now - (this.reclaimedAt.get(keyId) ?? -Infinity) < this.reclaimInterval) return spent;
    this.reclaimedAt.set(keyId, now);
    if ((await this.store.reclaimCreditShares(keyId, new Date(now - this.options.graceMs))) === 0) return spent;
    return this.store.spendCredits(keyId, cost);
  }

  /** Forgets the times of requests and reclaims old enough not to hold the next one back. */
  prune(now: number) {
    for (const [keyId, at] of this.reclaimedAt) if (now - at >= this.reclaimInterval) this.reclaimedAt.delete(keyId);
    for (const [keyId, at] of this.releaseRequestedAt) if (now - at >= this.options.releaseRequestMs) this.releaseRequestedAt.delete(keyId);
  }
}
