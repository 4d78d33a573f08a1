import type { SecretVault } from "../domain/secret-vault.js";
import type { Store } from "../store/store.js";

const BATCH = 500;

/**
 * The re-encryption step of a key-encryption-key rotation: seals every recoverable secret sealed
 * with an older key anew with the newest, one conditional update per key (a key that changed
 * meanwhile is left for the next run). Afterwards the older keys can leave KEY_ENCRYPTION_KEYS.
 */
export async function resealSecrets(store: Store, vault: SecretVault): Promise<{ resealed: number; changedMeanwhile: number }> {
  let resealed = 0;
  let changedMeanwhile = 0;
  let after: string | undefined;
  for (;;) {
    const keys = await store.keysSealedOtherwise(vault.currentKekId, { after, limit: BATCH });
    if (keys.length === 0) return { resealed, changedMeanwhile };
    for (const key of keys) {
      const sealed = vault.seal(vault.open(key.sealedSecret!, key.id), key.id);
      if (await store.replaceSealedSecret(key.id, key.sealedSecret!, sealed)) resealed++;
      else changedMeanwhile++;
    }
    after = keys.at(-1)!.id;
  }
}
