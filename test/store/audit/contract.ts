import { expect, it } from "vitest";
import type { AuditEventRecord, AuditFilter } from "../../../src/domain/audit.js";
import { newId } from "../../../src/domain/ids.js";
import type { Store } from "../../../src/store/store.js";
import { describeContract } from "../describe-contract.js";

/** What every adapter's AuditLog must do. */
export function auditContract(name: string, openStore: () => Promise<Store>) {
  describeContract(`AuditLog contract: ${name}`, openStore, (store) => {
    it("appends events and lists them by workspace, actor, action, target and time, in order", async () => {
      const workspaceId = newId("ws", Date.now());
      const base = Date.now() + 20_000_000;
      const event = (i: number, overrides: Partial<AuditEventRecord> = {}): AuditEventRecord => ({
        id: newId("evt", base + i),
        workspaceId,
        at: new Date(base + i),
        actor: "rk_a",
        action: "key.create",
        targetIds: [`key_${i}`],
        summary: { "odd.name": i },
        peerAddress: "127.0.0.1",
        userAgent: "test",
        outcome: "ok",
        ...overrides,
      });
      const events = [event(0), event(1, { actor: "rk_b" }), event(2, { action: "key.revoke", targetIds: ["key_0", "ks_1"] }), event(3)];
      for (const e of [...events].reverse()) await store.appendAuditEvent(e);
      await store.appendAuditEvent(event(4, { workspaceId: newId("ws", Date.now()) }));
      const list = async (filter: Partial<AuditFilter>, limit = 10) => (await store.listAuditEvents({ workspaceId, ...filter }, { limit })).map((e) => e.id);
      expect(await store.listAuditEvents({ workspaceId }, { limit: 10 })).toEqual(events);
      expect(await list({ actor: "rk_b" })).toEqual([events[1]!.id]);
      expect(await list({ action: "key.revoke" })).toEqual([events[2]!.id]);
      expect(await list({ targetId: "key_0" })).toEqual([events[0]!.id, events[2]!.id]);
      expect(await list({ from: new Date(base + 1), to: new Date(base + 3) })).toEqual([events[1]!.id, events[2]!.id]);
      expect(await store.listAuditEvents({ workspaceId }, { after: events[1]!.id, limit: 1 })).toEqual([events[2]]);
    });
  });
}
