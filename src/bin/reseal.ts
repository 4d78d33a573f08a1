import { loadConfig } from "../config.js";
import { SecretVault } from "../domain/secret-vault.js";
import { createLogger } from "../observability/log.js";
import { resealSecrets } from "../maintenance/reseal-secrets.js";
import { MongoStore } from "../store/mongodb.js";

/**
 * `npm run reseal`: after putting a new key first in KEY_ENCRYPTION_KEYS, seals every recoverable
 * secret with it. Exits 1 when a record could not be opened, after doing all the others.
 */
async function main() {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const vault = SecretVault.from(config.keyEncryptionKeys);
  if (!config.mongodbUri || !vault) throw new Error("MONGODB_URI and KEY_ENCRYPTION_KEYS must be set");
  const store = await MongoStore.connect(config.mongodbUri, config.mongodbDatabase);
  try {
    const report = await resealSecrets(store, vault);
    if (report.unopened === 0) {
      log.info("resealed recoverable secrets", { kekId: vault.currentKekId, resealed: report.resealed, changedMeanwhile: report.changedMeanwhile });
    } else {
      log.error("resealed recoverable secrets, but some could not be opened: keep the older keys until they are dealt with", {
        kekId: vault.currentKekId,
        ...report,
      });
      process.exitCode = 1;
    }
  } finally {
    await store.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`latchkey reseal failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
