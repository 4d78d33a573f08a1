import type { RootKeyRecord } from "../../domain/access.js";
import { alreadyExists } from "../../domain/errors.js";
import type { IdentityRecord } from "../../domain/identity.js";
import type { KeyspaceRecord } from "../../domain/keyspace.js";
import type { WorkspaceRecord } from "../../domain/workspace.js";
import type { IdentityTables, KeyspaceTables, Match, Page, RecordTable, WorkspaceTables } from "./index.js";

/** A RecordTable in a Map, enforcing the same unique fields the MongoDB indexes do. */
export class MemoryTable<T extends { id: string }> implements RecordTable<T> {
  private readonly records = new Map<string, T>();

  constructor(
    private readonly name: string,
    private readonly uniqueFields: readonly (keyof T)[][] = [],
  ) {}

  async insert(record: T) {
    if (this.records.has(record.id) || this.uniqueFields.some((fields) => this.taken(record, fields))) {
      throw alreadyExists(`this ${this.name} already exists`);
    }
    this.records.set(record.id, structuredClone(record));
  }

  async insertMissing(records: readonly T[]) {
    for (const record of records) {
      if (!this.records.has(record.id) && !this.uniqueFields.some((fields) => this.taken(record, fields))) {
        this.records.set(record.id, structuredClone(record));
      }
    }
  }

  async find(match: Match<T>) {
    const found = this.matching(match)[0];
    return found ? structuredClone(found) : null;
  }

  async list(match: Match<T>, page: Page) {
    return paginate(this.matching(match), page);
  }

  async update(match: Match<T>, changes: Partial<T>) {
    const current = this.matching(match)[0];
    if (!current) return null;
    Object.assign(current, structuredClone(changes));
    return structuredClone(current);
  }

  async delete(match: Match<T>) {
    const current = this.matching(match)[0];
    if (!current) return null;
    this.records.delete(current.id);
    return current;
  }

  /** Every stored record, live: for the store's own multi-record operations. */
  all(): IterableIterator<T> {
    return this.records.values();
  }

  private matching(match: Match<T>): T[] {
    const conditions = Object.entries(match) as [keyof T, unknown][];
    return [...this.records.values()].filter((record) =>
      conditions.every(([field, wanted]) => {
        const value = record[field] ?? null;
        return Array.isArray(wanted) ? wanted.includes(value) : value === wanted;
      }),
    );
  }

  private taken(record: T, fields: (keyof T)[]) {
    for (const other of this.records.values()) if (fields.every((field) => other[field] === record[field])) return true;
    return false;
  }
}

/** Copies of one page of records, in id order. */
export function paginate<T extends { id: string }>(records: T[], page: Page): T[] {
  return records
    .filter((record) => page.after === undefined || record.id > page.after)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .slice(0, page.limit)
    .map((record) => structuredClone(record));
}

/** A copy of the record, or null when there is none. */
export const copy = <T>(record: T | undefined): T | null => (record === undefined ? null : structuredClone(record));

/** The workspace, keyspace and identity tables, with the unique fields of their MongoDB indexes. */
export function memoryTables() {
  return {
    workspaces: new MemoryTable<WorkspaceRecord>("workspace"),
    rootKeys: new MemoryTable<RootKeyRecord>("root key", [["hash"]]),
    keyspaces: new MemoryTable<KeyspaceRecord>("keyspace"),
    identities: new MemoryTable<IdentityRecord>("identity", [["workspaceId", "externalId"]]),
  } satisfies WorkspaceTables & KeyspaceTables & IdentityTables;
}
