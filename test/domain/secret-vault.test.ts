import { describe, expect, it } from "vitest";
import { parseKeyEncryptionKeys, SecretVault } from "../../src/domain/secret-vault.js";

const key = (byte: number) => Buffer.alloc(32, byte).toString("base64");

describe("SecretVault", () => {
  it("seals with the newest key and opens with whichever sealed, bound to the key's id", () => {
    const older = new SecretVault(parseKeyEncryptionKeys(`k1:${key(1)}`));
    const sealed = older.seal("pay_secret", "key_a");
    expect(sealed.kekId).toBe("k1");
    expect(JSON.stringify(sealed)).not.toContain("pay_secret");
    const rotated = new SecretVault(parseKeyEncryptionKeys(`k2:${key(2)}, k1:${key(1)}`));
    expect(rotated.open(sealed, "key_a")).toBe("pay_secret");
    expect(rotated.seal("pay_secret", "key_a").kekId).toBe("k2");
    expect(() => rotated.open(sealed, "key_b")).toThrow();
    expect(() => rotated.open({ ...sealed, ciphertext: Buffer.from("x").toString("base64") }, "key_a")).toThrow();
    expect(() => new SecretVault(parseKeyEncryptionKeys(`k2:${key(2)}`)).open(sealed, "key_a")).toThrow("which KEY_ENCRYPTION_KEYS no longer lists");
  });

  it("two seals of one secret differ (a fresh nonce each time)", () => {
    const vault = new SecretVault(parseKeyEncryptionKeys(`k1:${key(1)}`));
    expect(vault.seal("s", "key_a").ciphertext).not.toBe(vault.seal("s", "key_a").iv);
    expect(vault.seal("s", "key_a").iv).not.toBe(vault.seal("s", "key_a").iv);
  });

  it("refuses KEY_ENCRYPTION_KEYS that are not id:32-byte-base64 pairs, or name an id twice; none means no vault", () => {
    expect(() => parseKeyEncryptionKeys("k1")).toThrow("KEY_ENCRYPTION_KEYS must list id:key pairs");
    expect(() => parseKeyEncryptionKeys(`k1:${Buffer.alloc(16).toString("base64")}`)).toThrow("each key 32 bytes");
    expect(() => parseKeyEncryptionKeys(`bad id:${key(1)}`)).toThrow("KEY_ENCRYPTION_KEYS must list");
    expect(() => parseKeyEncryptionKeys(`k1:${key(1)},k1:${key(2)}`)).toThrow("names one id twice");
    expect(parseKeyEncryptionKeys("")).toEqual([]);
    expect(SecretVault.from([])).toBeUndefined();
  });
});
