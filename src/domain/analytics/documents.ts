import { createHash } from "node:crypto";
import { bucketStart, nextBucket, type Retention } from "./buckets.js";
import { addCounts, type Counts, type GroupValues, type MinuteCount } from "./counts.js";

/**
 * A day's or a month's counts of one group (`group`), or of one keyspace's groups together
 * (`keyspace`); or a keyspace's keys' day totals (`keys`), apart from its totals so that a query
 * of the totals does not read them.
 */
export type DocumentScope = "group" | "keyspace" | "keys";
export type DocumentPeriod = "day" | "month";

/**
 * What is stored, and what a flush adds to what is stored: one group's (or keyspace's) counts of
 * one UTC day or month. A day document holds its hours and minutes as fields, so a flush writes
 * one day document and one month document per group, and the same two per keyspace, whatever
 * granularities are queried, and one more per keyspace with each key's day totals, so that a
 * query by key and day reads one document per day.
 */
/** A document's kind: its scope and period, which together name where a store keeps it. */
export const kindOf = (scope: DocumentScope, period: DocumentPeriod) => `${scope} ${period}`;

/** The documents by kind, each kind's in the order given. */
export function documentsByKind(documents: Iterable<AnalyticsDocument>): Map<string, AnalyticsDocument[]> {
  const kinds = new Map<string, AnalyticsDocument[]>();
  for (const document of documents) {
    const kind = kindOf(document.scope, document.period);
    let ofKind = kinds.get(kind);
    if (!ofKind) kinds.set(kind, (ofKind = []));
    ofKind.push(document);
  }
  return kinds;
}

export interface AnalyticsDocument extends GroupValues, Counts {
  /** The same for the same period and group everywhere, so instances add to one document. */
  id: string;
  scope: DocumentScope;
  period: DocumentPeriod;
  /** The period's start. */
  time: Date;
  /** Day documents: counts by hour of the day, under `hourField`. */
  hours?: Record<string, Counts>;
  /** Day documents: counts by minute of the day, under `minuteField`. */
  minutes?: Record<string, Counts>;
  /**
   * `keys` documents: each key's day totals, under `keyField`. A map rather than an object: a read
   * makes one of up to 10,000 entries per document, and an object of that many properties costs
   * more to make (docs/analytics.md#cost).
   */
  keys?: Map<string, Counts>;
  /** Some of the day's keys were counted without an entry in `keys` (the key budget): queries by key read the groups' documents for that day. */
  keysOverflowed?: boolean;
  /** When retention lets the document go. */
  expiresAt: Date;
}

const HOUR_MS = 3_600_000;

/** Milliseconds since the start of the UTC day. */
const sinceDayStart = (at: number) => at - bucketStart("day", at);

/** Field names of hours and minutes start with a letter: MongoDB would take a number for an array index. */
export const hourField = (at: number) => `h${String(Math.floor(sinceDayStart(at) / HOUR_MS)).padStart(2, "0")}`;
export const minuteField = (at: number) => `m${String(Math.floor(sinceDayStart(at) / 60_000)).padStart(4, "0")}`;
export const offsetOfField = (field: string) => Number(field.slice(1)) * (field.startsWith("h") ? HOUR_MS : 60_000);

/**
 * A key's field in `keys`: the key id (or a rate-limit identifier, which may hold any printable
 * character) with `%`, `.` and `$` escaped, behind `k`, or behind `o` for the key's overflow group.
 */
export const keyField = (keyId: string, overflow: boolean) =>
  `${overflow ? "o" : "k"}${keyId.replace(/[%.$]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`)}`;

export const keyOfField = (field: string) => ({
  keyId: field.includes("%") ? field.slice(1).replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))) : field.slice(1),
  overflow: field.startsWith("o"),
});

/** A stable, short id for a document: a digest of everything that tells documents apart. */
export function documentId(scope: DocumentScope, period: DocumentPeriod, time: number, group: GroupValues): string {
  const parts = [scope, period, time, group.source, group.workspaceId, group.keyspaceId, group.keyId, group.externalId, group.tags, group.overflow];
  return createHash("sha256").update(JSON.stringify(parts)).digest("base64url").slice(0, 24);
}

/** How long a document of each period is kept after it ends: a day's hours and minutes are pruned from it sooner. */
export const documentRetention = (period: DocumentPeriod, retention: Retention) =>
  period === "month" ? retention.month : Math.max(retention.minute, retention.hour, retention.day);

/**
 * The documents minute counts add to: each count's group day and month documents, its
 * keyspace's two and its keyspace's keys of the day, merged by id so each is written once per
 * batch. `admitsKey` says whether a key gets its own entry in a `keys` document; one it refuses is counted in the
 * keyspace's totals only and marks the document `keysOverflowed`.
 */
export function documentsOf(
  counts: Iterable<MinuteCount>,
  retention: Retention,
  admitsKey: (keysOfDay: AnalyticsDocument, keyId: string) => boolean,
): AnalyticsDocument[] {
  const documents = new Map<string, AnalyticsDocument>();
  /**
   * A keyspace's documents by keyspace, scope and period start: every group of the keyspace adds
   * to the same three, whose ids are digested once per batch rather than once per group.
   */
  const ofKeyspaces = new Map<string, AnalyticsDocument>();
  const keyspaceDocumentOf = (scope: DocumentScope, period: DocumentPeriod, keyspace: GroupValues, minute: number) => {
    const time = bucketStart(period, minute);
    const key = `${scope}\0${period}\0${time}\0${keyspace.source}\0${keyspace.workspaceId}\0${keyspace.keyspaceId}`;
    let document = ofKeyspaces.get(key);
    if (!document) ofKeyspaces.set(key, (document = documentOf(scope, period, keyspace, minute)));
    return document;
  };
  const documentOf = (scope: DocumentScope, period: DocumentPeriod, group: GroupValues, minute: number) => {
    const time = bucketStart(period, minute);
    const id = documentId(scope, period, time, group);
    let document = documents.get(id);
    if (!document) {
      const { source, workspaceId, keyspaceId, keyId, externalId, tags, overflow } = group;
      documents.set(
        id,
        (document = {
          source,
          workspaceId,
          keyspaceId,
          keyId,
          externalId,
          tags: [...tags],
          overflow,
          id,
          scope,
          period,
          time: new Date(time),
          outcomes: {},
          credits: 0,
          expiresAt: new Date(nextBucket(period, time) + documentRetention(period, retention)),
        }),
      );
    }
    return document;
  };
  for (const count of counts) {
    const keyspace: GroupValues = {
      source: count.source,
      workspaceId: count.workspaceId,
      keyspaceId: count.keyspaceId,
      keyId: "",
      externalId: "",
      tags: [],
      overflow: false,
    };
    const hour = hourField(count.minute);
    const minute = minuteField(count.minute);
    for (const day of [documentOf("group", "day", count, count.minute), keyspaceDocumentOf("keyspace", "day", keyspace, count.minute)]) {
      addCounts(day, count);
      addCounts(fieldOf((day.hours ??= {}), hour), count);
      addCounts(fieldOf((day.minutes ??= {}), minute), count);
    }
    addCounts(documentOf("group", "month", count, count.minute), count);
    addCounts(keyspaceDocumentOf("keyspace", "month", keyspace, count.minute), count);
    const keys = keyspaceDocumentOf("keys", "day", keyspace, count.minute);
    if (admitsKey(keys, count.keyId)) addCounts(keyCountsOf((keys.keys ??= new Map()), keyField(count.keyId, count.overflow)), count);
    else keys.keysOverflowed = true;
  }
  return [...documents.values()];
}

const fieldOf = (fields: Record<string, Counts>, name: string) => (fields[name] ??= { outcomes: {}, credits: 0 });

function keyCountsOf(keys: Map<string, Counts>, field: string) {
  let counts = keys.get(field);
  if (!counts) keys.set(field, (counts = { outcomes: {}, credits: 0 }));
  return counts;
}

/** Adds a document's counts, at every level, to another of the same id. */
export function addDocument(into: AnalyticsDocument, more: AnalyticsDocument) {
  addCounts(into, more);
  for (const part of ["hours", "minutes"] as const) {
    const fields = more[part];
    if (!fields) continue;
    const target = (into[part] ??= {});
    for (const [name, counts] of Object.entries(fields)) addCounts(fieldOf(target, name), counts);
  }
  if (more.keys) {
    const target = (into.keys ??= new Map());
    for (const [field, counts] of more.keys) addCounts(keyCountsOf(target, field), counts);
  }
  if (more.keysOverflowed) into.keysOverflowed = true;
}
