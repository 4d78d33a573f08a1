import type { RandomSource } from "../domain/base58.js";
import type { SecretVault } from "../domain/secret-vault.js";
import type { Store } from "../store/store.js";
import type { KeyChangeFeed } from "../verify/change-feed.js";
import type { CreditShares } from "../verify/credit-shares.js";
import type { Ratelimiter } from "../verify/ratelimiter.js";
import type { Verifier } from "../verify/verifier.js";
import type { VerificationsPage } from "./analytics-service/get-verifications.js";
import type { PageReadahead } from "./analytics-service/page-readahead.js";

/** What the service handlers need from outside; tests pass their own clock and randomness. */
export interface ServiceDeps {
  store: Store;
  now: () => number;
  random?: RandomSource;
  /** Told of every change that cached keys and root keys must not outlive: the pipeline publishes what handlers return. */
  changes: Pick<KeyChangeFeed, "publish">;
  verifier: Verifier;
  /** Brings instances' credit shares of a key back before a SET. */
  creditShares: Pick<CreditShares, "recall">;
  ratelimiter: Ratelimiter;
  /** Seals and opens recoverable keys' secrets; undefined without KEY_ENCRYPTION_KEYS. */
  vault?: SecretVault;
  /** GetVerifications' pages read ahead, for the clients paging through them. */
  verificationPages: PageReadahead<VerificationsPage>;
}
