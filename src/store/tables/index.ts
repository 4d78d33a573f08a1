import type { RootKeyRecord } from "../../domain/access.js";
import type { IdentityRecord } from "../../domain/identity.js";
import type { KeyspaceRecord } from "../../domain/keyspace.js";
import type { WorkspaceRecord } from "../../domain/workspace.js";

type Scalar = string | number | boolean | null;

/** Field equality; an array value means "any of these". Only scalar fields can be matched. */
export type Match<T> = { [F in keyof T]?: Scalar | readonly Scalar[] };

/**
 * The records that need nothing but single-document reads and writes, found by field equality.
 * Every write is one atomic operation on one record.
 */
export interface RecordTable<T extends { id: string }> {
  /** Fails with ALREADY_EXISTS when the id or a unique field is taken. */
  insert(record: T): Promise<void>;
  /** Inserts those whose id and unique fields are free, skipping the rest. */
  insertMissing(records: readonly T[]): Promise<void>;
  find(match: Match<T>): Promise<T | null>;
  /** Ordered by id, which is creation order. */
  list(match: Match<T>, page: Page): Promise<T[]>;
  /** Applies the changes to the record the match finds; returns it as changed, or null when none matched. */
  update(match: Match<T>, changes: Partial<T>): Promise<T | null>;
  /** Returns what was removed, or null when nothing matched. */
  delete(match: Match<T>): Promise<T | null>;
}

export interface Page {
  /** Only records whose id sorts after this one. */
  after?: string;
  limit: number;
}

/** Workspaces and the root keys that act in them. */
export interface WorkspaceTables {
  readonly workspaces: RecordTable<WorkspaceRecord>;
  /** Unique: hash. */
  readonly rootKeys: RecordTable<RootKeyRecord>;
}

export interface KeyspaceTables {
  readonly keyspaces: RecordTable<KeyspaceRecord>;
}

export interface IdentityTables {
  /** Unique: workspace and external id. */
  readonly identities: RecordTable<IdentityRecord>;
}
