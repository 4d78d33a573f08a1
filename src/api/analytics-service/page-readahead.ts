/**
 * How many pages an instance holds read ahead: the whole, and one workspace's. A workspace at its
 * share drops its own oldest page for a new one; an instance at the whole reads no more ahead
 * until pages are taken or expire, so no workspace's paging takes another's pages away.
 */
export const READAHEAD_PAGES = 16;
export const READAHEAD_PAGES_PER_WORKSPACE = 2;
/** A page not asked for within this long of its read is dropped: a client paging on asks sooner. */
export const READAHEAD_KEEP_MS = 10_000;

interface Entry<Answer> {
  workspaceId: string;
  readAt: number;
  answer: Promise<Answer | undefined>;
}

/**
 * The next page of a paged request, read while the client takes in the page before. An export
 * pages through a query one request at a time, so without it the instance waits while the client
 * decodes a page, and the client waits while the instance reads the next. Each page read ahead is
 * taken once, by the request for it (the same workspace, scope and request, with the token that
 * page answered); a read that fails, or that the reader declines (it answers undefined), leaves
 * that request to read as usual.
 */
export class PageReadahead<Answer> {
  private readonly pages = new Map<string, Entry<Answer>>();

  constructor(private readonly now: () => number) {}

  /** The page read ahead for this request, taken: undefined when there is none to serve. */
  take(request: string): Promise<Answer | undefined> | undefined {
    const entry = this.pages.get(request);
    if (!entry) return undefined;
    this.pages.delete(request);
    return this.expired(entry, this.now()) ? undefined : entry.answer;
  }

  /** Reads the page for `request` once the event loop has sent what is in hand, when the limits allow. */
  readAhead(workspaceId: string, request: string, read: () => Promise<Answer | undefined>) {
    this.dropExpired();
    if (this.pages.has(request)) return;
    const own = [...this.pages].filter(([, entry]) => entry.workspaceId === workspaceId);
    if (own.length >= READAHEAD_PAGES_PER_WORKSPACE) this.pages.delete(own[0]![0]);
    else if (this.pages.size >= READAHEAD_PAGES) return;
    const answer = new Promise<Answer | undefined>((resolve) => setImmediate(() => read().then(resolve, () => resolve(undefined))));
    this.pages.set(request, { workspaceId, readAt: this.now(), answer });
  }

  /** Pages waiting to be taken. */
  get size() {
    return this.pages.size;
  }

  /** Resolves when every page read ahead so far has been read (or declined). */
  async settled() {
    await Promise.all([...this.pages.values()].map((entry) => entry.answer));
  }

  private dropExpired() {
    const now = this.now();
    for (const [request, entry] of this.pages) if (this.expired(entry, now)) this.pages.delete(request);
  }

  private expired(entry: Entry<Answer>, now: number) {
    return entry.readAt + READAHEAD_KEEP_MS <= now;
  }
}
