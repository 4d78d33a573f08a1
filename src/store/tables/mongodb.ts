import { type Collection, type Db, type Document, type Filter, MongoBulkWriteError, MongoServerError } from "mongodb";
import { alreadyExists } from "../../domain/errors.js";
import type { Match, Page, RecordTable } from "./index.js";

export const DUPLICATE_KEY = 11000;

/** Records are stored under their own string ids; every other field is the record's. */
export type StoredDocument = Document & { _id: string };

/**
 * A RecordTable in one MongoDB collection: `id` is `_id`, and the JSON fields are kept as text
 * (`<field>Json`), since callers' JSON may hold field names MongoDB treats specially. Index
 * fields are derived from the record by the store, for its indexes, and never read back.
 */
export class MongoTable<T extends { id: string }> implements RecordTable<T> {
  readonly collection: Collection<StoredDocument>;
  /** The stored fields a record does not carry as they are: index fields, and JSON fields' text. */
  private readonly skipped: ReadonlySet<string>;

  constructor(
    db: Db,
    collectionName: string,
    private readonly name: string,
    private readonly jsonFields: readonly (keyof T & string)[] = [],
    indexFields: readonly string[] = [],
  ) {
    this.collection = db.collection(collectionName);
    this.skipped = new Set([...indexFields, ...jsonFields.map((field) => `${field}Json`)]);
  }

  async insert(record: T) {
    await rejectDuplicates(() => this.collection.insertOne(this.toDocument(record)), `this ${this.name} already exists`);
  }

  async insertMissing(records: readonly T[]) {
    if (records.length === 0) return;
    try {
      await this.collection.insertMany(
        records.map((record) => this.toDocument(record)),
        { ordered: false },
      );
    } catch (error) {
      if (duplicateWrites(error).length === 0) throw error;
    }
  }

  async find(match: Match<T>) {
    return this.fromDocument(await this.collection.findOne(this.filter(match)));
  }

  async list(match: Match<T>, page: Page) {
    const filter = this.filter(match);
    if (page.after !== undefined) filter._id = { ...(filter._id as object | undefined), $gt: page.after };
    const documents = await this.collection.find(filter).sort({ _id: 1 }).limit(page.limit).toArray();
    return documents.map((document) => this.fromDocument(document)!);
  }

  async update(match: Match<T>, changes: Partial<T>) {
    const { _id: _ignored, ...fields } = this.toDocument(changes as T);
    const document = await this.collection.findOneAndUpdate(this.filter(match), { $set: fields }, { returnDocument: "after" });
    return this.fromDocument(document);
  }

  async delete(match: Match<T>) {
    return this.fromDocument(await this.collection.findOneAndDelete(this.filter(match)));
  }

  /** The query for a match, in stored field names. */
  filter(match: Match<T>): Filter<StoredDocument> {
    const filter: Filter<StoredDocument> = {};
    for (const [field, wanted] of Object.entries(match)) {
      filter[field === "id" ? "_id" : field] = Array.isArray(wanted) ? { $in: wanted } : wanted;
    }
    return filter;
  }

  toDocument(record: T): StoredDocument {
    const { id, ...rest } = record as T & Record<string, unknown>;
    const document: Document = id === undefined ? { ...rest } : { _id: id, ...rest };
    for (const field of this.jsonFields) {
      if (field in document) {
        document[`${field}Json`] = document[field] === null ? null : JSON.stringify(document[field]);
        delete document[field];
      }
    }
    return document as StoredDocument;
  }

  /**
   * Built field by field rather than copied and pruned: deleting a field turns a V8 object into a
   * dictionary, slower to read on every verification of a cached key and larger to keep.
   */
  fromDocument(document: StoredDocument | Document | null): T | null {
    if (!document) return null;
    const record: Record<string, unknown> = { id: document._id };
    for (const field in document) {
      if (field === "_id" || this.skipped.has(field)) continue;
      record[field] = document[field];
    }
    for (const field of this.jsonFields) {
      const text = document[`${field}Json`] as string | null | undefined;
      record[field] = text ? JSON.parse(text) : null;
    }
    return record as T;
  }
}

/**
 * The writes of an unordered bulk write that failed only because their documents already existed
 * (their indexes in the batch); empty when anything else failed.
 */
export function duplicateWrites(error: unknown): number[] {
  if (!(error instanceof MongoBulkWriteError)) return [];
  const failed = [error.writeErrors].flat();
  return failed.every((write) => write.code === DUPLICATE_KEY) ? failed.map((write) => write.index) : [];
}

export const isDuplicateKey = (error: unknown) => error instanceof MongoServerError && error.code === DUPLICATE_KEY;

export async function rejectDuplicates<T>(write: () => Promise<T>, message: string): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isDuplicateKey(error)) throw alreadyExists(message);
    throw error;
  }
}

/** The query for the records after `page.after`, by id. */
export const afterFilter = (page: Page) => (page.after === undefined ? {} : { _id: { $gt: page.after } });
