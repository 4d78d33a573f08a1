import { timingSafeEqual } from "node:crypto";
import { ADMIN_ACTOR, type Caller, callerOf, MANAGEMENT_PERMISSIONS, rootKeyUsable } from "../domain/access.js";
import { DomainError, unauthenticated } from "../domain/errors.js";
import { digestSecret, isWellFormedSecret, MAX_SECRET_LENGTH } from "../domain/secret.js";
import type { KeyChangeTarget, WorkspaceTables } from "../store/store.js";
import { BoundedCache } from "./bounded-cache.js";

export interface CredentialsOptions {
  /** Digests that may belong to a root key; any other is refused without a read. */
  known: { mayExist(digest: string): boolean | Promise<boolean> };
  maxRootKeys: number;
  /** When a cached root key is read again in the background: a backstop, as the change feed evicts changed root keys long before. */
  ttlMs: number;
  /** How long past `ttlMs` an unused root key is still accepted at once (and refreshed meanwhile); after that it is read again. */
  staleMs: number;
  /** The share of `ttlMs` taken off each root key's time at random, so root keys read together come due apart. */
  ttlSpread?: number;
  adminToken: string | undefined;
  now: () => number;
}

const BEARER = /^Bearer\s+(\S+)$/i;
const MISSING = "missing or malformed Authorization header. Send Bearer and a root key";
const REFUSED = "the root key is unknown or revoked or expired";

/** A root key that exists but no longer works: its workspace's audit log hears of every attempt to use it. */
export class RefusedRootKey extends DomainError {
  constructor(
    readonly rootKeyId: string,
    readonly workspaceId: string,
  ) {
    super("unauthenticated", REFUSED, { reason: "ROOT_KEY_REFUSED" });
  }
}

interface KnownRootKey {
  caller: Caller | null;
  /** Set when the digest belongs to a root key that is revoked or expired. */
  refused?: { id: string; workspaceId: string };
  /** When a usable root key stops working by itself. */
  expiresAt?: number;
}

/**
 * Turns an Authorization header into a Caller. Root keys are found by digest and cached like keys
 * are, kept current by the same change feed, so a busy caller costs one hash and one map lookup per
 * call and a revocation reaches every instance within a poll. Only root keys are looked up: an
 * ordinary key's digest is never in the root key table.
 */
export class Credentials {
  private readonly cache: BoundedCache<KnownRootKey>;
  private readonly adminDigest: Buffer | undefined;

  constructor(
    private readonly store: WorkspaceTables,
    private readonly options: CredentialsOptions,
  ) {
    this.cache = new BoundedCache({
      maxEntries: options.maxRootKeys,
      ttlMs: options.ttlMs,
      ttlSpread: options.ttlSpread,
      staleMs: options.staleMs,
      onStale: (digest) => void this.load(digest).catch(() => {}),
      now: options.now,
    });
    this.adminDigest = options.adminToken ? Buffer.from(digestSecret(options.adminToken), "hex") : undefined;
  }

  /** The calling root key, without a promise when it is cached. */
  rootKey(header: string | null): Caller | Promise<Caller> {
    const secret = header && BEARER.exec(header)?.[1];
    if (!secret || secret.length > MAX_SECRET_LENGTH) throw unauthenticated(MISSING);
    const digest = digestSecret(secret);
    const cached = this.cache.get(digest);
    // A root key answered while its refresh runs must not outlive its own expiry.
    if (cached && !(cached.expiresAt !== undefined && cached.expiresAt <= this.options.now())) return accepted(cached);
    // The format is checked only before a storage read: a cached digest was checked when first seen.
    if (!isWellFormedSecret(secret)) throw unauthenticated(MISSING);
    return this.load(digest).then(accepted);
  }

  /** The operator, holding the deployment's ADMIN_TOKEN, compared in constant time. */
  admin(header: string | null): Caller {
    const token = header && BEARER.exec(header)?.[1];
    if (!token) throw unauthenticated(MISSING);
    if (!this.adminDigest || !timingSafeEqual(Buffer.from(digestSecret(token), "hex"), this.adminDigest)) {
      throw unauthenticated("this call needs the deployment's ADMIN_TOKEN", "ADMIN_TOKEN_REQUIRED");
    }
    return { actor: ADMIN_ACTOR, workspaceId: "", permissions: new Set(MANAGEMENT_PERMISSIONS), keyspaceIds: undefined };
  }

  /** Drops a root key that changed, here or (through the change feed) on another instance. */
  evict(change: KeyChangeTarget) {
    if (change.rootKeyHash) this.cache.delete(change.rootKeyHash);
  }

  /** One read per digest at a time, shared by callers waiting for it and by the background refresh. */
  private load(digest: string): Promise<KnownRootKey> {
    return this.cache.load(
      digest,
      () => this.fetch(digest),
      (known) => this.remember(digest, known),
    );
  }

  private async fetch(digest: string): Promise<KnownRootKey> {
    if (!(await this.options.known.mayExist(digest))) return NO_ROOT_KEY;
    const rootKey = await this.store.rootKeys.find({ hash: digest });
    const usable = rootKey !== null && rootKeyUsable(rootKey, this.options.now());
    return {
      caller: usable ? callerOf(rootKey) : null,
      refused: rootKey && !usable ? { id: rootKey.id, workspaceId: rootKey.workspaceId } : undefined,
      expiresAt: (usable && rootKey.expiresAt?.getTime()) || undefined,
    };
  }

  /**
   * A root key that expires is cached no longer than it lives. A digest the filter ruled out is
   * not cached: a flood of made-up root keys must not push real ones out.
   */
  private remember(digest: string, known: KnownRootKey) {
    if (known === NO_ROOT_KEY) {
      this.cache.discard(digest);
      return;
    }
    const untilExpiry = known.expiresAt === undefined ? Infinity : known.expiresAt - this.options.now();
    this.cache.set(digest, known, Math.min(this.options.ttlMs, untilExpiry));
  }
}

const NO_ROOT_KEY: KnownRootKey = { caller: null };

function accepted({ caller, refused }: KnownRootKey): Caller {
  if (caller) return caller;
  throw refused ? new RefusedRootKey(refused.id, refused.workspaceId) : unauthenticated(REFUSED, "ROOT_KEY_REFUSED");
}
