import { timingSafeEqual } from "node:crypto";
import { ADMIN_ACTOR, type Caller, callerOf, MANAGEMENT_PERMISSIONS, rootKeyUsable } from "../domain/access.js";
import { DomainError, unauthenticated } from "../domain/errors.js";
import { digestSecret, isWellFormedSecret, MAX_SECRET_LENGTH } from "../domain/secret.js";
import type { Store } from "../store/store.js";

/** Root keys are looked up again after this long, so a revocation on another instance holds within it. */
export const ROOT_KEY_CACHE_MS = 1000;
const MAX_CACHED_ROOT_KEYS = 10_000;

const BEARER = /^Bearer\s+(\S+)$/i;
const MISSING = "missing or malformed Authorization header. Send Bearer and a root key";
const REFUSED = "the root key is unknown or revoked or expired";

/** A root key that exists but no longer works: its workspace's audit log hears of every attempt to use it. */
export class RefusedRootKey extends DomainError {
  constructor(
    readonly rootKeyId: string,
    readonly workspaceId: string,
  ) {
    super("unauthenticated", REFUSED);
  }
}

interface CachedRootKey {
  caller: Caller | null;
  /** Set when the digest belongs to a root key that is revoked or expired. */
  refused?: { id: string; workspaceId: string };
  until: number;
}

/**
 * Turns an Authorization header into a Caller. Root keys are found by digest and remembered for
 * ROOT_KEY_CACHE_MS, so a busy caller costs one hash and one map lookup per call. Only root keys
 * are looked up: an ordinary key's digest is never in the root key table.
 */
export class Authenticator {
  private readonly cache = new Map<string, CachedRootKey>();
  private readonly adminDigest: Buffer | undefined;

  constructor(
    private readonly store: Store,
    private readonly now: () => number,
    adminToken: string | undefined,
  ) {
    this.adminDigest = adminToken ? Buffer.from(digestSecret(adminToken), "hex") : undefined;
  }

  /** The calling root key, without a promise when it is cached. */
  rootKey(header: string | null): Caller | Promise<Caller> {
    const secret = header && BEARER.exec(header)?.[1];
    if (!secret || secret.length > MAX_SECRET_LENGTH) throw unauthenticated(MISSING);
    const digest = digestSecret(secret);
    const cached = this.cache.get(digest);
    if (cached && cached.until > this.now()) return accepted(cached);
    // The format is checked only before a storage read: a cached digest was checked when first seen.
    if (!isWellFormedSecret(secret)) throw unauthenticated(MISSING);
    return this.load(digest).then(accepted);
  }

  /** The operator, holding the deployment's ADMIN_TOKEN, compared in constant time. */
  admin(header: string | null): Caller {
    const token = header && BEARER.exec(header)?.[1];
    if (!token) throw unauthenticated(MISSING);
    if (!this.adminDigest || !timingSafeEqual(Buffer.from(digestSecret(token), "hex"), this.adminDigest)) {
      throw unauthenticated("this call needs the deployment's ADMIN_TOKEN");
    }
    return { actor: ADMIN_ACTOR, workspaceId: "", permissions: new Set(MANAGEMENT_PERMISSIONS), keyspaceIds: undefined };
  }

  /** Drops a root key this instance changed, so its next call sees the change at once. */
  forget(hash: string) {
    this.cache.delete(hash);
  }

  private async load(digest: string): Promise<CachedRootKey> {
    const rootKey = await this.store.rootKeys.find({ hash: digest });
    const now = this.now();
    const usable = rootKey !== null && rootKeyUsable(rootKey, now);
    const entry: CachedRootKey = {
      caller: usable ? callerOf(rootKey) : null,
      refused: rootKey && !usable ? { id: rootKey.id, workspaceId: rootKey.workspaceId } : undefined,
      until: Math.min(now + ROOT_KEY_CACHE_MS, (usable && rootKey.expiresAt?.getTime()) || Infinity),
    };
    if (this.cache.size >= MAX_CACHED_ROOT_KEYS) this.cache.clear();
    this.cache.set(digest, entry);
    return entry;
  }
}

function accepted({ caller, refused }: CachedRootKey): Caller {
  if (caller) return caller;
  throw refused ? new RefusedRootKey(refused.id, refused.workspaceId) : unauthenticated(REFUSED);
}
