import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { createKeyspace, expectCode, testApi } from "../../support/api.js";

describe("ListKeyspaces", () => {
  it("OK: pages through every keyspace in creation order", async () => {
    const api = testApi();
    const created = [];
    for (let i = 0; i < 7; i++) {
      api.clock.now += 1;
      created.push((await createKeyspace(api, `ks ${i}`)).id);
    }
    const seen: string[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const page = await api.keyspaces.listKeyspaces({ pageSize: 3, pageToken });
      expect(page.keyspaces.length).toBeLessThanOrEqual(3);
      seen.push(...page.keyspaces.map((keyspace) => keyspace.id));
      pageToken = page.nextPageToken;
      pages++;
    } while (pageToken);
    expect(seen).toEqual(created);
    expect(pages).toBe(3);
  });

  it("OK: lowers page sizes above 100 to 100 and uses 50 when unset", async () => {
    const api = testApi();
    for (let i = 0; i < 105; i++) await createKeyspace(api, `ks ${i}`);
    expect((await api.keyspaces.listKeyspaces({ pageSize: 1000 })).keyspaces).toHaveLength(100);
    expect((await api.keyspaces.listKeyspaces({})).keyspaces).toHaveLength(50);
  });

  it("INVALID_ARGUMENT: negative page size or foreign page token", async () => {
    const api = testApi();
    await expectCode(api.keyspaces.listKeyspaces({ pageSize: -1 }), Code.InvalidArgument, "page_size");
    await expectCode(api.keyspaces.listKeyspaces({ pageToken: "not-a-token" }), Code.InvalidArgument, "page_token");
  });
});
