import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, inject, it } from "vitest";
import { newId } from "../../src/domain/ids.js";
import { SecretVault } from "../../src/domain/secret-vault.js";
import { MongoStore } from "../../src/store/mongodb.js";
import { TEST_KEY_ENCRYPTION_KEYS } from "../support/auth.js";
import { keyRecord } from "../support/fixtures.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const [newest, older] = TEST_KEY_ENCRYPTION_KEYS as [(typeof TEST_KEY_ENCRYPTION_KEYS)[0], (typeof TEST_KEY_ENCRYPTION_KEYS)[0]];
const env = (keys: typeof TEST_KEY_ENCRYPTION_KEYS) => keys.map((key) => `${key.id}:${key.key.toString("base64")}`).join(",");

describe("npm run reseal", () => {
  it("seals every recoverable secret with the newest key-encryption key, after which the older one can go", async () => {
    const database = `latchkey_reseal_${Date.now()}`;
    const store = await MongoStore.connect(inject("mongoUri"), database);
    try {
      const olderVault = new SecretVault([older]);
      const keys = Array.from({ length: 3 }, (_, i) => {
        const key = keyRecord();
        return { ...key, sealedSecret: olderVault.seal(`pay_secret_${i}`, key.id) };
      });
      for (const key of keys) await store.insertKey(key);
      const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "src/bin/reseal.ts"], {
        cwd: root,
        env: { ...process.env, MONGODB_URI: inject("mongoUri"), MONGODB_DATABASE: database, KEY_ENCRYPTION_KEYS: env([newest, older]) },
      });
      expect(stdout).toContain('"resealed":3');
      const newestOnly = new SecretVault([newest]);
      for (const [i, key] of keys.entries()) {
        const stored = (await store.getKey(key.id))!;
        expect(stored.sealedSecret!.kekId).toBe(newest.id);
        expect(newestOnly.open(stored.sealedSecret!, key.id)).toBe(`pay_secret_${i}`);
      }
    } finally {
      await store.close();
    }
  });

  it("goes on past records it cannot open, reseals the rest, and reports those (count and ids) with exit code 1", async () => {
    const database = `latchkey_reseal_unopened_${Date.now()}`;
    const store = await MongoStore.connect(inject("mongoUri"), database);
    try {
      const olderVault = new SecretVault([older]);
      const goneVault = new SecretVault([{ id: "gone", key: randomBytes(32) }]);
      const keys = Array.from({ length: 5 }, (_, i) => {
        const key = keyRecord({ id: newId("key", Date.UTC(2026, 0, 1) + i) });
        return { ...key, sealedSecret: (i === 1 ? goneVault : olderVault).seal(`pay_secret_${i}`, key.id) };
      });
      const damaged = keys[3]!;
      damaged.sealedSecret = { ...damaged.sealedSecret!, tag: Buffer.alloc(16).toString("base64") };
      for (const key of keys) await store.insertKey(key);
      const run = promisify(execFile)(process.execPath, ["--import", "tsx", "src/bin/reseal.ts"], {
        cwd: root,
        env: { ...process.env, MONGODB_URI: inject("mongoUri"), MONGODB_DATABASE: database, KEY_ENCRYPTION_KEYS: env([newest, older]) },
      });
      const failed = (await run.then(
        () => undefined,
        (error: unknown) => error,
      )) as { code: number; stdout: string };
      expect(failed?.code).toBe(1);
      const report = JSON.parse(failed.stdout.trim().split("\n").at(-1)!);
      expect(report).toMatchObject({ level: "error", resealed: 3, unopened: 2, unopenedIds: [keys[1]!.id, damaged.id] });
      const newestOnly = new SecretVault([newest]);
      for (const i of [0, 2, 4]) expect(newestOnly.open((await store.getKey(keys[i]!.id))!.sealedSecret!, keys[i]!.id)).toBe(`pay_secret_${i}`);
      expect((await store.getKey(damaged.id))!.sealedSecret).toEqual(damaged.sealedSecret);
    } finally {
      await store.close();
    }
  });

  it("refuses to run without MongoDB or key-encryption keys", async () => {
    const run = promisify(execFile)(process.execPath, ["--import", "tsx", "src/bin/reseal.ts"], {
      cwd: root,
      env: { ...process.env, MONGODB_URI: "", KEY_ENCRYPTION_KEYS: "" },
    });
    await expect(run).rejects.toMatchObject({ stderr: "latchkey reseal failed: MONGODB_URI and KEY_ENCRYPTION_KEYS must be set\n" });
  });
});
