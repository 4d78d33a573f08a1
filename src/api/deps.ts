import type { RandomSource } from "../domain/base58.js";
import type { Store } from "../store/store.js";

/** What the service handlers need from outside; tests pass their own clock and randomness. */
export interface ServiceDeps {
  store: Store;
  now: () => number;
  random?: RandomSource;
}
