import type { RootKeyRecord } from "../domain/access.js";
import type { AuditEventRecord, AuditFilter } from "../domain/audit.js";
import { alreadyExists } from "../domain/errors.js";
import type { IdempotentRequestRecord } from "../domain/idempotency.js";
import type { IdentityRecord } from "../domain/identity.js";
import { keyStatus, type KeyRecord, type PreviousSecret } from "../domain/key.js";
import type { SealedSecret } from "../domain/secret-vault.js";
import type { KeyspaceRecord } from "../domain/keyspace.js";
import { applyGrantChange, type GrantChange, type GrantKind, type PermissionRecord, type RoleRecord } from "../domain/rbac.js";
import type { WorkspaceRecord } from "../domain/workspace.js";
import { MemoryTable, paginate } from "./memory-table.js";
import { MemoryRatelimits } from "./memory-ratelimits.js";
import { MemoryAnalytics } from "./memory-analytics.js";
import { applyCreditsUpdate, balances, type CreditsUpdate } from "../domain/credits.js";
import type { KeyChange, KeyChangeTarget, KeyFilter, KeyGuard, KeyUse, Page, RateLimitWindow, Store } from "./store.js";

/** Keeps everything in this process; nothing survives a restart. For development and tests. */
export class MemoryStore implements Store {
  readonly description = "in-memory store (nothing persists across restarts)";
  readonly workspaces = new MemoryTable<WorkspaceRecord>("workspace");
  readonly rootKeys = new MemoryTable<RootKeyRecord>("root key", [["hash"]]);
  readonly keyspaces = new MemoryTable<KeyspaceRecord>("keyspace");
  readonly identities = new MemoryTable<IdentityRecord>("identity", [["workspaceId", "externalId"]]);
  readonly roles = new MemoryTable<RoleRecord>("role", [["workspaceId", "name"]]);
  readonly permissions = new MemoryTable<PermissionRecord>("permission", [["workspaceId", "name"]]);
  readonly requests = new MemoryTable<IdempotentRequestRecord>("request");
  readonly ratelimits = new MemoryRatelimits();
  readonly analytics = new MemoryAnalytics();
  private readonly auditEvents: AuditEventRecord[] = [];
  private readonly keys = new Map<string, KeyRecord>();
  /** Key ids by workspace and digest (current and previous secrets): digests are unique per workspace. */
  private readonly keyIdsByDigest = new Map<string, string>();
  private changes: KeyChange[] = [];
  private lastSeq = 0;
  private readonly rateLimitWindows = new Map<string, { used: number; endsAt: Date }>();

  async insertKey(key: KeyRecord) {
    const digests = digestsOf(key).map((hash) => digestKey(key.workspaceId, hash));
    if (this.keys.has(key.id) || digests.some((digest) => this.keyIdsByDigest.has(digest))) throw alreadyExists("a key with this id or secret already exists");
    this.keys.set(key.id, structuredClone(key));
    for (const digest of digests) this.keyIdsByDigest.set(digest, key.id);
  }

  async getKey(id: string) {
    return copy(this.keys.get(id));
  }

  async findKeyByHash(workspaceId: string, hash: string) {
    const key = this.keys.get(this.keyIdsByDigest.get(digestKey(workspaceId, hash)) ?? "");
    return key && digestsOf(key).includes(hash) ? copy(key) : null;
  }

  async findKeysByHashes(workspaceId: string, hashes: readonly string[]) {
    const found = new Map<string, KeyRecord>();
    for (const hash of hashes) {
      const key = await this.findKeyByHash(workspaceId, hash);
      if (key) found.set(key.id, key);
    }
    return [...found.values()];
  }

  async replaceSecret(id: string, currentHash: string, next: Pick<KeyRecord, "hash" | "start" | "sealedSecret">, previous: PreviousSecret, at: Date) {
    const key = this.keys.get(id);
    if (!key || key.deletedAt || key.revokedAt || key.hash !== currentHash) return null;
    const nextDigest = digestKey(key.workspaceId, next.hash);
    if (this.keyIdsByDigest.has(nextDigest)) throw alreadyExists("a key with this secret already exists");
    if (key.previousSecret) this.keyIdsByDigest.delete(digestKey(key.workspaceId, key.previousSecret.hash));
    this.keyIdsByDigest.set(nextDigest, id);
    Object.assign(key, { ...structuredClone(next), previousSecret: structuredClone(previous), updatedAt: new Date(at) });
    return copy(key);
  }

  async countDigests() {
    return this.keyIdsByDigest.size + (await this.rootKeys.list({}, { limit: Number.MAX_SAFE_INTEGER })).length;
  }

  async *digests() {
    for (const key of [...this.keys.values()]) yield* digestsOf(key);
    for (const rootKey of await this.rootKeys.list({}, { limit: Number.MAX_SAFE_INTEGER })) yield rootKey.hash;
  }

  async listKeys(filter: KeyFilter, page: Page) {
    const matches = [...this.keys.values()].filter(
      (key) =>
        key.keyspaceId === filter.keyspaceId &&
        !key.deletedAt &&
        (filter.ownerId === undefined || key.ownerId === filter.ownerId) &&
        (filter.externalId === undefined || key.externalId === filter.externalId) &&
        (filter.status === undefined || keyStatus(key, filter.now) === filter.status),
    );
    return paginate(matches, page);
  }

  async countLiveKeys(keyspaceId: string) {
    return [...this.keys.values()].filter((key) => key.keyspaceId === keyspaceId && !key.deletedAt).length;
  }

  async countLiveKeysOfIdentity(workspaceId: string, externalId: string) {
    return [...this.keys.values()].filter((key) => key.workspaceId === workspaceId && key.externalId === externalId && !key.deletedAt).length;
  }

  async changeKeyGrants(id: string, kind: GrantKind, change: GrantChange, names: readonly string[], at: Date) {
    const key = this.keys.get(id);
    if (!key || key.deletedAt || key.revokedAt) return null;
    key[kind] = applyGrantChange(key[kind], change, names);
    key.updatedAt = new Date(at);
    return copy(key);
  }

  async removeGrantEverywhere(workspaceId: string, kind: GrantKind, name: string, at: Date) {
    for (const key of this.keys.values()) {
      if (key.workspaceId === workspaceId && key[kind].includes(name)) {
        key[kind] = applyGrantChange(key[kind], "remove", [name]);
        key.updatedAt = new Date(at);
      }
    }
    if (kind === "roles") return;
    for (const role of this.roles.all()) {
      if (role.workspaceId === workspaceId && role.permissions.includes(name)) {
        role.permissions = applyGrantChange(role.permissions, "remove", [name]);
        role.updatedAt = new Date(at);
      }
    }
  }

  async updateKey(id: string, changes: Partial<KeyRecord>, guard: KeyGuard) {
    const current = this.keys.get(id);
    if (!current || (guard.notDeleted && current.deletedAt) || (guard.notRevoked && current.revokedAt)) return null;
    Object.assign(current, structuredClone(changes));
    return copy(current);
  }

  async keysSealedOtherwise(kekId: string, page: Page) {
    const sealed = [...this.keys.values()].filter((key) => key.sealedSecret && key.sealedSecret.kekId !== kekId).sort((a, b) => (a.id < b.id ? -1 : 1));
    return paginate(sealed, page);
  }

  async replaceSealedSecret(id: string, current: SealedSecret, next: SealedSecret) {
    const key = this.keys.get(id);
    if (!key?.sealedSecret || key.sealedSecret.ciphertext !== current.ciphertext) return false;
    key.sealedSecret = structuredClone(next);
    return true;
  }

  async deleteKey(id: string) {
    const key = this.keys.get(id);
    if (!key) return null;
    this.keys.delete(id);
    for (const hash of digestsOf(key)) this.keyIdsByDigest.delete(digestKey(key.workspaceId, hash));
    return key;
  }

  async deleteKeysInKeyspace(keyspaceId: string) {
    const ids = [...this.keys.values()].filter((key) => key.keyspaceId === keyspaceId).map((key) => key.id);
    for (const id of ids) await this.deleteKey(id);
    return ids.length;
  }

  async spendCredits(id: string, cost: number) {
    const credits = this.liveKey(id)?.credits;
    if (!credits) return null;
    const spent = credits.remaining >= cost;
    if (spent) credits.remaining -= cost;
    return { spent, ...balances(credits) };
  }

  async refillCredits(id: string, periodStart: Date, amount: number) {
    const credits = this.keys.get(id)?.credits;
    const refill = credits?.refill;
    if (!credits || !refill || (refill.lastRefillAt && refill.lastRefillAt >= periodStart)) return false;
    credits.remaining = amount;
    delete credits.shares;
    refill.lastRefillAt = new Date(periodStart);
    return true;
  }

  async updateCredits(id: string, update: CreditsUpdate) {
    const current = this.keys.get(id);
    if (!current || current.deletedAt || current.revokedAt) return null;
    current.credits = structuredClone(applyCreditsUpdate(current.credits, update));
    return copy(current);
  }

  async takeCreditShare(id: string, share: string, units: number, claim: number, expiresAt: Date) {
    const credits = this.liveKey(id)?.credits;
    if (!credits || credits.remaining < units) return false;
    credits.remaining -= units;
    (credits.shares ??= {})[share] = { unclaimed: units - claim, expiresAt: new Date(expiresAt) };
    return true;
  }

  async claimCredits(id: string, share: string, units: number, expiresAt: Date) {
    const held = this.liveKey(id)?.credits?.shares?.[share];
    if (!held || held.unclaimed < units) return false;
    held.unclaimed -= units;
    held.expiresAt = new Date(expiresAt);
    return true;
  }

  async returnCreditShare(id: string, share: string, unspent: number) {
    const credits = this.liveKey(id)?.credits;
    const held = credits?.shares?.[share];
    if (!held) return false;
    credits!.remaining += held.unclaimed + unspent;
    delete credits!.shares![share];
    return true;
  }

  async reclaimCreditShares(id: string, before: Date) {
    const credits = this.liveKey(id)?.credits;
    let returned = 0;
    for (const share of Object.values(credits?.shares ?? {})) {
      if (share.expiresAt >= before) continue;
      returned += share.unclaimed;
      credits!.remaining += share.unclaimed;
      share.unclaimed = 0;
    }
    return returned;
  }

  async reserveRateLimit(window: RateLimitWindow, units: number) {
    const counted = this.rateLimitWindows.get(window.id) ?? { used: 0, endsAt: new Date(window.endsAt) };
    const granted = Math.max(0, Math.min(units, window.limit - counted.used));
    counted.used += granted;
    this.rateLimitWindows.set(window.id, counted);
    return { granted, used: counted.used };
  }

  async countRateLimits(windows: readonly RateLimitWindow[]) {
    const counts = new Map<string, number>();
    for (const { id } of windows) {
      const counted = this.rateLimitWindows.get(id);
      if (counted) counts.set(id, counted.used);
    }
    return counts;
  }

  async pruneRateLimits(before: Date) {
    for (const [id, window] of this.rateLimitWindows) if (window.endsAt < before) this.rateLimitWindows.delete(id);
  }

  async recordKeyUse(uses: readonly KeyUse[]) {
    for (const { id, at } of uses) {
      const key = this.keys.get(id);
      if (key && (!key.lastUsedAt || key.lastUsedAt < at)) key.lastUsedAt = new Date(at);
    }
  }

  async appendAuditEvent(event: AuditEventRecord) {
    this.auditEvents.push(structuredClone(event));
  }

  async listAuditEvents(filter: AuditFilter, page: Page) {
    const matches = this.auditEvents.filter(
      (event) =>
        event.workspaceId === filter.workspaceId &&
        (filter.actor === undefined || event.actor === filter.actor) &&
        (filter.action === undefined || event.action === filter.action) &&
        (filter.targetId === undefined || event.targetIds.includes(filter.targetId)) &&
        (filter.from === undefined || event.at >= filter.from) &&
        (filter.to === undefined || event.at < filter.to),
    );
    return paginate(matches, page);
  }

  async appendChange(change: KeyChangeTarget & { at: Date }) {
    const seq = ++this.lastSeq;
    this.changes.push(structuredClone({ ...change, seq }));
    return seq;
  }

  async changesAfter(after: number, limit: number) {
    return this.changes.filter((change) => change.seq > after).slice(0, limit).map((change) => structuredClone(change));
  }

  async lastChangeSeq() {
    return this.lastSeq;
  }

  async pruneChanges(before: Date) {
    this.changes = this.changes.filter((change) => change.at >= before);
  }

  async pruneRequests(before: number) {
    for (const request of await this.requests.list({}, { limit: Number.MAX_SAFE_INTEGER })) {
      if (request.startedAt < before) await this.requests.delete({ id: request.id });
    }
  }

  async checkHealth() {}

  async close() {}

  private liveKey(id: string) {
    const key = this.keys.get(id);
    return key && !key.deletedAt ? key : undefined;
  }
}

/** Every digest a key answers to: its secret's, and its previous secret's after a reroll. */
const digestsOf = (key: KeyRecord) => (key.previousSecret ? [key.hash, key.previousSecret.hash] : [key.hash]);
const digestKey = (workspaceId: string, hash: string) => `${workspaceId} ${hash}`;

const copy = <T>(record: T | undefined): T | null => (record === undefined ? null : structuredClone(record));
