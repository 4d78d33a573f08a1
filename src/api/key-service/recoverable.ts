import type { Message } from "@bufbuild/protobuf";
import type { KeyRecord } from "../../domain/key.js";
import type { KeyspaceRecord } from "../../domain/keyspace.js";
import { encryptionUnavailable, type SealedSecret, type SecretVault } from "../../domain/secret-vault.js";
import type { ServiceDeps } from "../deps.js";

/** The secret sealed for the key when its keyspace is recoverable; null otherwise. */
export function sealIfRecoverable(vault: SecretVault | undefined, keyspace: KeyspaceRecord, keyId: string, secret: string): SealedSecret | null {
  if (!keyspace.recoverable) return null;
  if (!vault) throw encryptionUnavailable();
  return vault.seal(secret, keyId);
}

/** The key's secret when it is kept sealed, for GetKey and ListKeys with `decrypt`; empty otherwise. */
export function revealedSecret(vault: SecretVault | undefined, key: KeyRecord): string {
  if (!key.sealedSecret) return "";
  if (!vault) throw encryptionUnavailable();
  return vault.open(key.sealedSecret, key.id);
}

/** A keyspace may be made recoverable, or given keys, only where secrets can be sealed. */
export function checkRecoverable(vault: SecretVault | undefined, settings: { recoverable?: boolean }) {
  if (settings.recoverable && !vault) throw encryptionUnavailable();
}

/**
 * A retried CreateKey or RerollKey (same request_id) gets its secret again when the key keeps it
 * sealed and it is still the key's secret; otherwise (undefined) the answer stays withheld. The
 * pipeline asks this only for a caller holding key.decrypt, and audits the reading.
 */
export const recoveredOnReplay =
  ({ store, vault }: Pick<ServiceDeps, "store" | "vault">) =>
  async (response: Message): Promise<Message | undefined> => {
    const answer = response as Message & { key?: { id: string; start: string; recoverable: boolean }; secret: string; secretWithheld: boolean };
    if (!answer.key?.recoverable) return undefined;
    const key = await store.getKey(answer.key.id);
    if (!key?.sealedSecret || key.deletedAt || key.start !== answer.key.start) return undefined;
    return { ...answer, secret: revealedSecret(vault, key), secretWithheld: false } as Message;
  };
