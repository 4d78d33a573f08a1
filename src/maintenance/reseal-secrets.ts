import type { SecretVault } from "../domain/secret-vault.js";
import type { SealedSecretStore } from "../store/store.js";

const BATCH = 500;
/** How many ids of records that could not be opened are listed; the count covers them all. */
export const MAX_LISTED_UNOPENED = 1000;

export interface ResealReport {
  resealed: number;
  changedMeanwhile: number;
  /** Records whose sealed secret could not be opened (its key-encryption key is gone, or the record is damaged). */
  unopened: number;
  /** The ids of the first MAX_LISTED_UNOPENED of them. */
  unopenedIds: string[];
}

/**
 * The re-encryption step of a key-encryption-key rotation: seals every recoverable secret sealed
 * with an older key anew with the newest, one conditional update per key (a key that changed
 * meanwhile is left for the next run). A record that cannot be opened is skipped and reported, so
 * one damaged record does not leave every other secret on the old key; only when none is reported
 * can the older keys leave KEY_ENCRYPTION_KEYS.
 */
export async function resealSecrets(store: SealedSecretStore, vault: SecretVault): Promise<ResealReport> {
  const report: ResealReport = { resealed: 0, changedMeanwhile: 0, unopened: 0, unopenedIds: [] };
  let after: string | undefined;
  for (;;) {
    const keys = await store.keysSealedOtherwise(vault.currentKekId, { after, limit: BATCH });
    if (keys.length === 0) return report;
    for (const key of keys) {
      let secret: string;
      try {
        secret = vault.open(key.sealedSecret!, key.id);
      } catch {
        report.unopened++;
        if (report.unopenedIds.length < MAX_LISTED_UNOPENED) report.unopenedIds.push(key.id);
        continue;
      }
      if (await store.replaceSealedSecret(key.id, key.sealedSecret!, vault.seal(secret, key.id))) report.resealed++;
      else report.changedMeanwhile++;
    }
    after = keys.at(-1)!.id;
  }
}
