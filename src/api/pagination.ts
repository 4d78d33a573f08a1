import { invalidArgument } from "../domain/errors.js";
import { isId, type IdKind } from "../domain/ids.js";
import type { Match, Page, RecordTable } from "../store/store.js";

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 100;

/**
 * Page tokens are opaque to callers; inside they hold the last id served, so a listing stays
 * stable while records are added or removed.
 */
export function pageRequest(pageSize: number, pageToken: string, kind: IdKind): Page {
  const limit = pageSize === 0 ? DEFAULT_PAGE_SIZE : Math.min(pageSize, MAX_PAGE_SIZE);
  if (!pageToken) return { limit };
  const after = Buffer.from(pageToken, "base64url").toString("utf8");
  if (!isId(kind, after) || Buffer.from(after).toString("base64url") !== pageToken) {
    throw invalidArgument("page_token", "is not a token this listing returned");
  }
  return { limit, after };
}

/** Asks the store for one record more than the page holds, to learn whether another page follows. */
export async function fetchPage<T extends { id: string }>(page: Page, fetch: (page: Page) => Promise<T[]>): Promise<{ items: T[]; nextPageToken: string }> {
  const rows = await fetch({ ...page, limit: page.limit + 1 });
  const items = rows.slice(0, page.limit);
  const last = items.at(-1);
  return { items, nextPageToken: rows.length > page.limit && last ? Buffer.from(last.id).toString("base64url") : "" };
}

/** One page of a record table's matching records, as API messages. */
export async function listPage<T extends { id: string }, M>(
  table: RecordTable<T>,
  kind: IdKind,
  request: { pageSize: number; pageToken: string },
  match: Match<T>,
  toProto: (record: T) => M,
): Promise<{ items: M[]; nextPageToken: string }> {
  const { items, nextPageToken } = await fetchPage(pageRequest(request.pageSize, request.pageToken, kind), (page) => table.list(match, page));
  return { items: items.map(toProto), nextPageToken };
}
