import type { CreditsUpdate } from "../../domain/credits.js";
import type { KeyRecord } from "../../domain/key.js";

/** A key's credits, kept on the key: every change is one atomic step on the balance (domain/credits.ts). */
export interface CreditStore {
  /**
   * Spends `cost` credits when at least that many are unshared. Returns whether it spent, and
   * afterwards the balance (shares included) and the unshared part; null when the key is gone or
   * has no credits.
   */
  spendCredits(id: string, cost: number): Promise<{ spent: boolean; remaining: number; unshared: number } | null>;
  /**
   * Sets the balance to `amount`, voiding every share, unless the key was refilled at or after
   * `periodStart` already; says whether it did.
   */
  refillCredits(id: string, periodStart: Date, amount: number): Promise<boolean>;
  /**
   * Applies UpdateCredits to a live (neither deleted nor revoked) key as `applyCreditsUpdate`
   * describes, in atomic steps on the balance, so no concurrent spend is lost. Null when there is no
   * such key; throws FAILED_PRECONDITION (NO_CREDITS) to add to or take from a key without credits.
   */
  updateCredits(id: string, update: CreditsUpdate): Promise<KeyRecord | null>;
  /**
   * Credit shares (domain/credits.ts). Moves `units` from the unshared balance of a live key into
   * a new share named `share` (a name never used before), and claims `claim` of them at once;
   * false when fewer are unshared.
   */
  takeCreditShare(id: string, share: string, units: number, claim: number, expiresAt: Date): Promise<boolean>;
  /**
   * Takes `units` out of the share to spend, and extends the share to `expiresAt`; false when the
   * share holds fewer (a DECREMENT took from it, or it was taken back after it expired) or is gone
   * (voided by a SET or a refill).
   */
  claimCredits(id: string, share: string, units: number, expiresAt: Date): Promise<boolean>;
  /**
   * Ends the share: the unclaimed units it still holds (whatever a DECREMENT or an expiry left)
   * and its holder's `unspent` claimed ones go back to the balance. False, changing nothing, when
   * the share is gone: a SET or a refill voided it, claimed units included.
   */
  returnCreditShare(id: string, share: string, unspent: number): Promise<boolean>;
  /**
   * Gives the unclaimed units of the key's shares that expired before `before` back to its
   * balance, leaving each share empty (so its holder, should it still be alive, can give back what
   * it claimed); returns how many came back.
   */
  reclaimCreditShares(id: string, before: Date): Promise<number>;
}
