import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { failedPrecondition } from "./errors.js";

export const encryptionUnavailable = () =>
  failedPrecondition("recoverable keys need KEY_ENCRYPTION_KEYS, which this service is not configured with", "ENCRYPTION_UNAVAILABLE");

/** A recoverable key's secret, sealed with AES-256-GCM under one of the operator's key-encryption keys. */
export interface SealedSecret {
  /** Which key-encryption key sealed it. */
  kekId: string;
  /** Nonce, ciphertext and tag, base64. */
  iv: string;
  ciphertext: string;
  tag: string;
}

export interface KeyEncryptionKey {
  id: string;
  key: Buffer;
}

const KEK_ID = /^[A-Za-z0-9_-]{1,32}$/;

/**
 * Parses KEY_ENCRYPTION_KEYS: `id:base64`, comma-separated, newest first. Each key is 32 random
 * bytes (`openssl rand -base64 32`). New secrets are sealed with the first; every listed key still
 * opens what it sealed, so a rotation puts the new key first and keeps the old ones until the
 * secrets are sealed anew.
 */
export function parseKeyEncryptionKeys(raw: string): KeyEncryptionKey[] {
  const entries = raw
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean);
  const keys = entries.map((entry) => {
    const separator = entry.indexOf(":");
    const id = entry.slice(0, separator);
    const key = Buffer.from(entry.slice(separator + 1), "base64");
    if (separator < 1 || !KEK_ID.test(id) || key.length !== 32) {
      throw new Error("KEY_ENCRYPTION_KEYS must list id:key pairs, each id 1 to 32 letters, digits, _ or -, each key 32 bytes in base64");
    }
    return { id, key };
  });
  if (new Set(keys.map((key) => key.id)).size !== keys.length) throw new Error("KEY_ENCRYPTION_KEYS names one id twice");
  return keys;
}

/**
 * Seals and opens recoverable keys' secrets. Each secret is bound to its key's id (as associated
 * data), so a sealed secret copied onto another key does not open.
 */
export class SecretVault {
  /** The vault of KEY_ENCRYPTION_KEYS, or undefined when none are configured (no keyspace may then be recoverable). */
  static from(keys: readonly KeyEncryptionKey[]): SecretVault | undefined {
    return keys.length > 0 ? new SecretVault(keys) : undefined;
  }

  constructor(private readonly keys: readonly KeyEncryptionKey[]) {
    if (keys.length === 0) throw new Error("a vault needs at least one key-encryption key");
  }

  /** The key new secrets are sealed with. */
  get currentKekId() {
    return this.keys[0]!.id;
  }

  seal(secret: string, keyId: string): SealedSecret {
    const kek = this.keys[0]!;
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", kek.key, iv).setAAD(Buffer.from(keyId));
    const ciphertext = Buffer.concat([cipher.update(secret, "utf8"), cipher.final()]);
    return { kekId: kek.id, iv: iv.toString("base64"), ciphertext: ciphertext.toString("base64"), tag: cipher.getAuthTag().toString("base64") };
  }

  /** Throws when the sealing key is no longer configured or the secret was tampered with. */
  open(sealed: SealedSecret, keyId: string): string {
    const kek = this.keys.find((key) => key.id === sealed.kekId);
    if (!kek)
      throw failedPrecondition(`the secret was encrypted with key ${sealed.kekId}, which KEY_ENCRYPTION_KEYS no longer lists`, "ENCRYPTION_UNAVAILABLE");
    const decipher = createDecipheriv("aes-256-gcm", kek.key, Buffer.from(sealed.iv, "base64")).setAAD(Buffer.from(keyId));
    decipher.setAuthTag(Buffer.from(sealed.tag, "base64"));
    return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, "base64")), decipher.final()]).toString("utf8");
  }
}
