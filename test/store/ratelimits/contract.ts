import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DomainError } from "../../../src/domain/errors.js";
import { newId } from "../../../src/domain/ids.js";
import type { RatelimitOverrideRecord } from "../../../src/domain/ratelimit.js";
import type { Store } from "../../../src/store/store.js";

/** What every adapter's RatelimitStore must do. Each adapter's test file runs it against a fresh store. */
export function ratelimitStoreContract(name: string, openStore: () => Promise<Store>) {
  describe(`RatelimitStore contract: ${name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await openStore();
    });
    afterAll(async () => {
      await store.close();
    });

    const override = (workspaceId: string, namespace: string, identifier: string): RatelimitOverrideRecord => ({
      id: newId("rlov", Date.now()),
      workspaceId,
      namespace,
      identifier,
      limit: 10,
      durationMs: 60_000,
      createdAt: new Date(),
      updatedAt: new Date(),
    });

    it("keeps one namespace per workspace and name, and one override per workspace, namespace and identifier", async () => {
      const workspaceId = newId("ws", Date.now());
      const namespace = (name: string, workspace = workspaceId) => ({ id: newId("rlns", Date.now()), workspaceId: workspace, name, createdAt: new Date() });
      await store.ratelimits.namespaces.insertMissing([namespace("logins")]);
      await store.ratelimits.namespaces.insertMissing([namespace("logins"), namespace("exports")]);
      await store.ratelimits.namespaces.insertMissing([namespace("logins", newId("ws", Date.now()))]);
      expect((await store.ratelimits.namespaces.list({ workspaceId }, { limit: 10 })).map((record) => record.name).sort()).toEqual(["exports", "logins"]);
      await store.ratelimits.overrides.insert(override(workspaceId, "logins", "*@example.com"));
      const taken = await store.ratelimits.overrides.insert(override(workspaceId, "logins", "*@example.com")).catch((error: unknown) => error);
      expect(taken).toBeInstanceOf(DomainError);
      expect((taken as DomainError).kind).toBe("already_exists");
      await store.ratelimits.overrides.insert(override(workspaceId, "exports", "*@example.com"));
    });

    it("deletes every override of one namespace of one workspace, and no other", async () => {
      const workspaceId = newId("ws", Date.now());
      const other = newId("ws", Date.now());
      for (const identifier of ["a", "b", "c*"]) await store.ratelimits.overrides.insert(override(workspaceId, "logins", identifier));
      await store.ratelimits.overrides.insert(override(workspaceId, "exports", "a"));
      await store.ratelimits.overrides.insert(override(other, "logins", "a"));
      expect(await store.ratelimits.deleteOverrides(workspaceId, "logins")).toBe(3);
      expect(await store.ratelimits.overrides.list({ workspaceId, namespace: "logins" }, { limit: 10 })).toEqual([]);
      expect(await store.ratelimits.overrides.list({ workspaceId, namespace: "exports" }, { limit: 10 })).toHaveLength(1);
      expect(await store.ratelimits.overrides.list({ workspaceId: other }, { limit: 10 })).toHaveLength(1);
    });

    it("adds to cells, gives back, drops, and answers every cell after the step", async () => {
      const record = `${newId("ws", Date.now())}:60000:logins:203.0.113.7`;
      const expiresAt = new Date(Date.now() + 60_000);
      expect(await store.ratelimits.changeCells(record, [[1000, 5]], [], expiresAt)).toEqual(new Map([[1000, 5]]));
      expect(
        await store.ratelimits.changeCells(
          record,
          [
            [1001, 3],
            [1000, -2],
          ],
          [],
          expiresAt,
        ),
      ).toEqual(
        new Map([
          [1000, 3],
          [1001, 3],
        ]),
      );
      expect(
        await store.ratelimits.changeCells(
          record,
          [
            [1002, 1],
            [1002, 1],
          ],
          [1000],
          expiresAt,
        ),
      ).toEqual(
        new Map([
          [1001, 3],
          [1002, 2],
        ]),
      );
      expect(await store.ratelimits.changeCells(record, [], [], expiresAt)).toEqual(
        new Map([
          [1001, 3],
          [1002, 2],
        ]),
      );
    });

    it("reads the cells of the records that exist, and makes none", async () => {
      const workspace = newId("ws", Date.now());
      const [counted, never] = [`${workspace}:60000:~key:key_a:api`, `${workspace}:60000:~key:key_b:api`];
      const expiresAt = new Date(Date.now() + 60_000);
      await store.ratelimits.changeCells(
        counted,
        [
          [20, 4],
          [21, 1],
        ],
        [],
        expiresAt,
      );
      expect(await store.ratelimits.readCells([counted, never])).toEqual(
        new Map([
          [
            counted,
            new Map([
              [20, 4],
              [21, 1],
            ]),
          ],
        ]),
      );
      expect(await store.ratelimits.readCells([never])).toEqual(new Map());
      expect(await store.ratelimits.readCells([])).toEqual(new Map());
    });

    it("applies concurrent steps one at a time: every increment is counted, whoever makes the record", async () => {
      const record = `${newId("ws", Date.now())}:1000:hot:x`;
      const expiresAt = new Date(Date.now() + 60_000);
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => store.ratelimits.changeCells(record, [[7, i + 1]], [], expiresAt)));
      const total = (40 * 41) / 2;
      expect(Math.max(...answers.map((cells) => cells.get(7)!))).toBe(total);
      // Each step saw its own increment on top of a distinct set of the others: the counts after each step are all different.
      expect(new Set(answers.map((cells) => cells.get(7))).size).toBe(40);
    });

    it("prunes counters whose expiry is past, and moves an expiry forward only", async () => {
      const workspace = newId("ws", Date.now());
      const old = `${workspace}:1000:a:old`;
      const kept = `${workspace}:1000:a:kept`;
      await store.ratelimits.changeCells(old, [[1, 1]], [], new Date(1000));
      await store.ratelimits.changeCells(kept, [[1, 1]], [], new Date(5000));
      await store.ratelimits.changeCells(kept, [[1, 1]], [], new Date(1000));
      await store.ratelimits.pruneCounters(new Date(2000));
      expect(await store.ratelimits.changeCells(old, [], [], new Date(1000))).toEqual(new Map());
      expect(await store.ratelimits.changeCells(kept, [], [], new Date(1000))).toEqual(new Map([[1, 2]]));
    });
  });
}
