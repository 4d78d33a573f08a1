import { alreadyExists } from "../domain/errors.js";
import { keyStatus, type KeyRecord } from "../domain/key.js";
import type { KeyspaceRecord } from "../domain/keyspace.js";
import type { KeyChange, KeyFilter, KeyGuard, KeyUse, Page, Store } from "./store.js";

/** Keeps everything in this process; nothing survives a restart. For development and tests. */
export class MemoryStore implements Store {
  readonly description = "in-memory store (nothing persists across restarts)";
  private readonly keyspaces = new Map<string, KeyspaceRecord>();
  private readonly keys = new Map<string, KeyRecord>();
  private readonly keyIdsByHash = new Map<string, string>();
  private changes: KeyChange[] = [];

  async insertKeyspace(keyspace: KeyspaceRecord) {
    if (this.keyspaces.has(keyspace.id)) throw alreadyExists(`keyspace ${keyspace.id} already exists`);
    this.keyspaces.set(keyspace.id, structuredClone(keyspace));
  }

  async getKeyspace(id: string) {
    return copy(this.keyspaces.get(id));
  }

  async listKeyspaces(page: Page) {
    return paginate([...this.keyspaces.values()], page);
  }

  async updateKeyspace(id: string, changes: Partial<KeyspaceRecord>) {
    const current = this.keyspaces.get(id);
    if (!current) return null;
    Object.assign(current, structuredClone(changes));
    return copy(current);
  }

  async deleteKeyspace(id: string) {
    return this.keyspaces.delete(id);
  }

  async insertKey(key: KeyRecord) {
    if (this.keys.has(key.id) || this.keyIdsByHash.has(key.hash)) throw alreadyExists("a key with this id or secret already exists");
    this.keys.set(key.id, structuredClone(key));
    this.keyIdsByHash.set(key.hash, key.id);
  }

  async getKey(id: string) {
    return copy(this.keys.get(id));
  }

  async findKeyByHash(hash: string) {
    const id = this.keyIdsByHash.get(hash);
    return id === undefined ? null : copy(this.keys.get(id));
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

  async updateKey(id: string, changes: Partial<KeyRecord>, guard: KeyGuard) {
    const current = this.keys.get(id);
    if (!current || (guard.notDeleted && current.deletedAt) || (guard.notRevoked && current.revokedAt)) return null;
    Object.assign(current, structuredClone(changes));
    return copy(current);
  }

  async deleteKey(id: string) {
    const key = this.keys.get(id);
    if (!key) return null;
    this.keys.delete(id);
    this.keyIdsByHash.delete(key.hash);
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
    return { spent, remaining: credits.remaining };
  }

  async refillCredits(id: string, periodStart: Date, amount: number) {
    const credits = this.keys.get(id)?.credits;
    const refill = credits?.refill;
    if (!credits || !refill || (refill.lastRefillAt && refill.lastRefillAt >= periodStart)) return false;
    credits.remaining = amount;
    refill.lastRefillAt = new Date(periodStart);
    return true;
  }

  async recordKeyUse(uses: readonly KeyUse[]) {
    for (const { id, at } of uses) {
      const key = this.keys.get(id);
      if (key && (!key.lastUsedAt || key.lastUsedAt < at)) key.lastUsedAt = new Date(at);
    }
  }

  async appendChange(change: KeyChange) {
    this.changes.push(structuredClone(change));
  }

  async changesSince(since: Date) {
    return this.changes
      .filter((change) => change.at >= since)
      .sort((a, b) => a.at.getTime() - b.at.getTime())
      .map((change) => structuredClone(change));
  }

  async pruneChanges(before: Date) {
    this.changes = this.changes.filter((change) => change.at >= before);
  }

  async close() {}

  private liveKey(id: string) {
    const key = this.keys.get(id);
    return key && !key.deletedAt ? key : undefined;
  }
}

const copy = <T>(record: T | undefined): T | null => (record === undefined ? null : structuredClone(record));

function paginate<T extends { id: string }>(records: T[], page: Page): T[] {
  return records
    .filter((record) => page.after === undefined || record.id > page.after)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .slice(0, page.limit)
    .map((record) => structuredClone(record));
}
