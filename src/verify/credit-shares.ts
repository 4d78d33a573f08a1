import { claimSize, creditBalance, shareSize } from "../domain/credits.js";
import type { KeyRecord } from "../domain/key.js";
import type { Logger } from "../observability/log.js";
import type { CreditStore, KeyChangeTarget, KeyLookup } from "../store/store.js";
import type { ChangeSubscriber } from "./change-feed.js";
import { forEachChunk } from "./chunks.js";
import { CreditRecall, type CreditRecallOptions } from "./credit-recall.js";

/**
 * Shares given back together at shutdown: fewer than the MongoDB driver's connection pool holds
 * (100 by default), so no return waits for a connection while the store timeout runs.
 */
export const SHARES_RETURNED_AT_ONCE = 50;

export interface CreditSpend {
  spent: boolean;
  /** The key's balance as far as this instance knows: exact when the store was asked. */
  remaining: number;
  /** The balance no share holds, when the store was asked: what the cached key should show. */
  unshared?: number;
}

/** What the shares need to know; how shares are asked back is verify/credit-recall.ts. */
export interface CreditShareOptions extends CreditRecallOptions {
  /** This instance's name in the key documents; unique per process. */
  holder: string;
  now: () => number;
  log: Logger;
  /** A share not claimed from for this long may be taken back by an instance that runs short. */
  leaseMs: number;
  /** Allowance for clocks that disagree: a share is taken back only this long after it expired. */
  graceMs: number;
  /** A share unused for this long goes back to the balance. */
  idleMs: number;
  /** Shares held at most; keys beyond spend per call. */
  maxShares: number;
  /**
   * When this instance's change feed began its latest finished read (undefined before one): a
   * holder whose feed read the store less than `recallWaitMs` ago would have seen a SET's request
   * for its share, so it may go on spending claimed units past the lease.
   */
  feedCurrentSince: () => number | undefined;
  /**
   * Resolves after a change-feed read that began after the call: what a holder past its lease
   * whose feed is behind waits for, one read shared by every key, rather than renew each share's
   * lease with a claim of its own.
   */
  catchUpFeed: () => Promise<void>;
  /** After giving a share back on request, none is taken of that key for this long. */
  releaseHoldMs: number;
}

interface HeldShare {
  keyId: string;
  /** Its name in the key document: each share taken gets a new one, so a late return never ends a later share. */
  name: string;
  /** Units taken: claim sizes are a fraction of it. */
  units: number;
  /** Still in the store's share: what this instance may claim. */
  unclaimed: number;
  /** Claimed from the store and not spent: spendable here without asking anyone. */
  claimed: number;
  /** The key's balance when the share was taken, less what was spent here since: for answers only. */
  balanceHint: number;
  expiresAt: number;
  lastUsed: number;
  lastClaimAt: number;
  lastClaimUnits: number;
  spentSinceClaim: number;
  claiming: Promise<boolean> | undefined;
  /** Given back (or voided): nothing more is spent from it. */
  released: boolean;
}

/**
 * This instance's credit shares (domain/credits.ts): spends from them in memory, claims ahead of
 * demand, and gives them back when a key goes idle or changes, and at shutdown.
 */
export class CreditShares implements ChangeSubscriber {
  private readonly shares = new Map<string, HeldShare>();
  private readonly taking = new Map<string, Promise<HeldShare | undefined>>();
  /** Keys another instance asked shares of back, with until when none is taken here. */
  private readonly heldBackUntil = new Map<string, number>();
  private sharesTaken = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly recallOfShares: CreditRecall;

  constructor(
    private readonly store: KeyLookup & CreditStore,
    private readonly options: CreditShareOptions,
  ) {
    this.recallOfShares = new CreditRecall(store, options);
  }

  /** Spends `cost` credits of the key: without a promise when this instance's share covers it. */
  spend(record: KeyRecord, cost: number): CreditSpend | Promise<CreditSpend | null> {
    const share = this.shares.get(record.id);
    if (share && share.claimed >= cost && this.maySpendClaimed(share)) return this.spendFrom(share, cost);
    return this.spendSlowly(record, cost);
  }

  /**
   * Claimed units are spent while the lease lasts, or while this instance's change feed is current
   * enough that it would have given the share back on a SET's request: a SET waits `recallWaitMs`
   * after asking, so a holder that keeps spending has given back its share before the SET goes on.
   */
  private maySpendClaimed(share: HeldShare) {
    const now = this.options.now();
    if (now < share.expiresAt) return true;
    const since = this.options.feedCurrentSince();
    return since !== undefined && now - since < this.options.recallWaitMs;
  }

  /**
   * Gives the key's share back, as after a refill: a share the refill voided gives nothing back
   * (its entry is gone), and one taken after the refill by another verification here is returned
   * whole rather than left in the store with no holder.
   */
  async giveBack(keyId: string) {
    const share = this.shares.get(keyId);
    if (share) await this.release(share);
  }

  /**
   * A changed key's share goes back at once; the next verification takes a new one from the
   * balance as it now stands. A share another instance asked for goes back too, and none is taken
   * of that key for `releaseHoldMs`, so the balance stays where every instance can spend it.
   */
  evict(change: KeyChangeTarget) {
    if (change.releaseCreditsOf !== undefined) this.heldBackUntil.set(change.releaseCreditsOf, this.options.now() + this.options.releaseHoldMs);
    for (const keyId of [change.keyId, change.releaseCreditsOf]) if (keyId !== undefined) void this.giveBack(keyId);
  }

  /** Before a SET: waits until no other instance holds a share of the key it may still spend from (verify/credit-recall.ts). */
  recall(keyId: string) {
    return this.recallOfShares.recall(keyId);
  }

  start() {
    this.timer = setInterval(() => this.maintain(), Math.max(10, Math.floor(this.options.idleMs / 4)));
    this.timer.unref();
  }

  /**
   * Gives every share back, SHARES_RETURNED_AT_ONCE at a time, one group after another: an
   * instance holding thousands sent every return at once, and on mongo-java-server some outlasted
   * the store timeout, losing their claimed units and leaving their unclaimed ones to wait for
   * the lease to pass.
   */
  async stop() {
    clearInterval(this.timer);
    await forEachChunk([...this.shares.values()], SHARES_RETURNED_AT_ONCE, async (chunk) => {
      await Promise.all(chunk.map((share) => this.release(share)));
    });
  }

  /** Shares held, and the units claimed and not spent in them: for metrics. */
  get stats() {
    let claimed = 0;
    for (const share of this.shares.values()) claimed += share.claimed;
    return { shares: this.shares.size, claimed };
  }

  private spendFrom(share: HeldShare, cost: number): CreditSpend {
    share.claimed -= cost;
    share.spentSinceClaim += cost;
    share.balanceHint = Math.max(0, share.balanceHint - cost);
    share.lastUsed = this.options.now();
    if (share.claimed < share.lastClaimUnits / 2 && share.unclaimed > 0 && !share.claiming) void this.claim(share, 0).catch(this.claimFailed);
    return { spent: true, remaining: share.balanceHint };
  }

  private readonly claimFailed = (error: unknown) => this.options.log.warn("claiming credits failed", { error: String(error) });

  private async spendSlowly(record: KeyRecord, cost: number): Promise<CreditSpend | null> {
    let caughtUp = false;
    for (;;) {
      let share = this.shares.get(record.id);
      if (!share && this.mayTake(record.id) && shareSize(record.credits!.remaining, cost) > 0) share = await this.take(record, cost);
      if (!share) return this.recallOfShares.spendExactly(record.id, cost);
      if (share.claiming) await share.claiming;
      if (share.released) continue;
      if (share.claimed >= cost && this.maySpendClaimed(share)) return this.spendFrom(share, cost);
      if (share.claimed >= cost && !caughtUp) {
        // Past the lease with the feed behind: a current feed lets the claimed units be spent (and gives the share back if asked).
        caughtUp = true;
        await this.options.catchUpFeed();
        continue;
      }
      if (share.unclaimed + share.claimed >= cost && (await this.claim(share, Math.max(1, cost - share.claimed)))) continue;
      // The share cannot cover the cost (or was voided): give back what is left and spend from the balance.
      await this.release(share);
      return this.recallOfShares.spendExactly(record.id, cost);
    }
  }

  private mayTake(keyId: string) {
    return this.shares.size < this.options.maxShares && this.options.now() >= (this.heldBackUntil.get(keyId) ?? -Infinity);
  }

  private take(record: KeyRecord, cost: number): Promise<HeldShare | undefined> {
    let taking = this.taking.get(record.id);
    if (!taking) {
      taking = this.takeShare(record, cost).finally(() => this.taking.delete(record.id));
      this.taking.set(record.id, taking);
    }
    return taking;
  }

  private async takeShare(record: KeyRecord, cost: number): Promise<HeldShare | undefined> {
    const credits = record.credits!;
    const units = shareSize(credits.remaining, cost);
    const claim = claimSize(units, units, cost, 0);
    const now = this.options.now();
    const expiresAt = now + this.options.leaseMs;
    const name = `${this.options.holder}s${(this.sharesTaken++).toString(36)}`;
    if (!(await this.store.takeCreditShare(record.id, name, units, claim, new Date(expiresAt)))) return undefined;
    const share: HeldShare = {
      keyId: record.id,
      name,
      units,
      unclaimed: units - claim,
      claimed: claim,
      balanceHint: creditBalance(credits),
      expiresAt,
      lastUsed: now,
      lastClaimAt: now,
      lastClaimUnits: claim,
      spentSinceClaim: 0,
      claiming: undefined,
      released: false,
    };
    credits.remaining -= units;
    this.shares.set(record.id, share);
    return share;
  }

  /** Claims at least `need` units, sized to the recent demand; false when the store's share cannot give them. */
  private claim(share: HeldShare, need: number): Promise<boolean> {
    if (share.claiming) return share.claiming;
    const now = this.options.now();
    const rate = (share.spentSinceClaim * 1000) / Math.max(1, now - share.lastClaimAt);
    const units = Math.max(need, claimSize(share.unclaimed, share.units, need, rate));
    if (units < 1 || units > share.unclaimed) return Promise.resolve(false);
    const expiresAt = now + this.options.leaseMs;
    share.claiming = this.store
      .claimCredits(share.keyId, share.name, units, new Date(expiresAt))
      .then((claimed) => {
        if (!claimed) {
          // A DECREMENT took from the share, it was taken back after expiring, or an update or a refill voided it:
          // what was claimed stays spendable, and returning the share gives back whatever it still holds.
          share.unclaimed = 0;
          return false;
        }
        share.unclaimed -= units;
        share.claimed += units;
        share.expiresAt = expiresAt;
        share.lastClaimAt = now;
        share.lastClaimUnits = units;
        share.spentSinceClaim = 0;
        return true;
      })
      .finally(() => (share.claiming = undefined));
    return share.claiming;
  }

  /** Gives back what the share holds, claimed and unclaimed; nothing more is spent from it here. */
  private async release(share: HeldShare) {
    if (share.released) return;
    this.forget(share);
    await share.claiming;
    try {
      await this.store.returnCreditShare(share.keyId, share.name, share.claimed);
    } catch (error) {
      this.options.log.warn("returning a credit share failed", { keyId: share.keyId, error: String(error) });
    }
  }

  private forget(share: HeldShare) {
    share.released = true;
    if (this.shares.get(share.keyId) === share) this.shares.delete(share.keyId);
  }

  /** Gives idle shares back. */
  private maintain() {
    const now = this.options.now();
    for (const share of this.shares.values()) if (now - share.lastUsed > this.options.idleMs) void this.release(share);
    this.recallOfShares.prune(now);
    for (const [keyId, until] of this.heldBackUntil) if (now >= until) this.heldBackUntil.delete(keyId);
  }
}
