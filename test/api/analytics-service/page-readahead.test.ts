import { describe, expect, it } from "vitest";
import { PageReadahead, READAHEAD_KEEP_MS, READAHEAD_PAGES, READAHEAD_PAGES_PER_WORKSPACE } from "../../../src/api/analytics-service/page-readahead.js";

function readahead() {
  const clock = { now: 0 };
  const pages = new PageReadahead<string>(() => clock.now);
  let reads = 0;
  const read = (page: string) => async () => {
    reads++;
    return page;
  };
  return { clock, pages, read, reads: () => reads };
}

describe("PageReadahead", () => {
  it("gives a page read ahead to its request once, after the event loop has moved on", async () => {
    const { pages, read, reads } = readahead();
    pages.readAhead("ws_1", "request 2", read("page 2"));
    expect(reads()).toBe(0);
    pages.readAhead("ws_1", "request 2", read("page 2 again"));
    expect(await pages.take("request 2")).toBe("page 2");
    expect(reads()).toBe(1);
    expect(pages.take("request 2")).toBeUndefined();
    expect(pages.take("request 3")).toBeUndefined();
  });

  it("leaves the request to read for itself when the read fails, is declined or is too old", async () => {
    const { clock, pages, read } = readahead();
    pages.readAhead("ws_1", "failed", async () => {
      throw new Error("store unavailable");
    });
    pages.readAhead("ws_2", "declined", async () => undefined);
    pages.readAhead("ws_3", "old", read("old page"));
    await pages.settled();
    expect(await pages.take("failed")).toBeUndefined();
    expect(await pages.take("declined")).toBeUndefined();
    clock.now += READAHEAD_KEEP_MS;
    expect(pages.take("old")).toBeUndefined();
  });

  it("holds a workspace's latest pages only, and never drops another workspace's page for a new one", async () => {
    const { clock, pages, read } = readahead();
    for (let i = 0; i <= READAHEAD_PAGES_PER_WORKSPACE; i++) pages.readAhead("ws_busy", `busy ${i}`, read(`busy page ${i}`));
    expect(pages.size).toBe(READAHEAD_PAGES_PER_WORKSPACE);
    expect(pages.take("busy 0")).toBeUndefined();
    expect(await pages.take(`busy ${READAHEAD_PAGES_PER_WORKSPACE}`)).toBe(`busy page ${READAHEAD_PAGES_PER_WORKSPACE}`);

    for (let i = pages.size; i < READAHEAD_PAGES; i++) pages.readAhead(`ws_${i}`, `request ${i}`, read(`page ${i}`));
    expect(pages.size).toBe(READAHEAD_PAGES);
    pages.readAhead("ws_late", "late", read("late page"));
    expect(pages.size).toBe(READAHEAD_PAGES);
    expect(pages.take("late")).toBeUndefined();
    expect(await pages.take(`request ${READAHEAD_PAGES - 1}`)).toBe(`page ${READAHEAD_PAGES - 1}`);

    clock.now += READAHEAD_KEEP_MS;
    pages.readAhead("ws_late", "late", read("late page"));
    expect(pages.size).toBe(1);
    expect(await pages.take("late")).toBe("late page");
  });
});
