import { storeUnavailable } from "../domain/errors.js";
import type { Metrics } from "../observability/metrics.js";
import type { Store } from "./store.js";

/** How long a store call may take unless told otherwise. */
export const DEFAULT_STORE_TIMEOUT_MS = 5000;

export interface StoreGuard {
  metrics: Metrics;
  /** A call not answered within this long fails UNAVAILABLE instead of holding its caller. */
  timeoutMs: number;
}

/**
 * The same store, with every call timed into `metrics` by method (`findKeyByHash`,
 * `keyspaces.find`) and bounded in time: a database that stops answering (a network that drops
 * packets, a failover) makes calls fail UNAVAILABLE after `timeoutMs` instead of piling up behind
 * the driver's own timeouts. Failures to reach the database answer UNAVAILABLE too. One place
 * sees every storage call, whichever adapter serves it.
 */
export function guardedStore(store: Store, guard: StoreGuard): Store {
  return guarded(store, "", guard);
}

function guarded<T extends object>(target: T, path: string, guard: StoreGuard): T {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(target, {
    get(inner, property, receiver) {
      if (wrapped.has(property)) return wrapped.get(property);
      const value = Reflect.get(inner, property, receiver);
      const name = `${path}${String(property)}`;
      let result: unknown = value;
      if (typeof value === "function") result = bounded(value.bind(inner), name, guard);
      else if (value && typeof value === "object") result = guarded(value, `${name}.`, guard);
      else return value;
      wrapped.set(property, result);
      return result;
    },
  });
}

/** The driver's errors for a database it cannot reach or that stopped answering. */
const UNREACHABLE = /^Mongo(ServerSelection|Network|NetworkTimeout|OperationTimeout|TopologyClosed)Error$|^PoolClearedError$/;

function bounded(method: (...args: unknown[]) => unknown, name: string, { metrics, timeoutMs }: StoreGuard) {
  return (...args: unknown[]) => {
    const started = performance.now();
    const observe = (outcome: "ok" | "error" | "timeout") => metrics.storeCall(name, outcome, (performance.now() - started) / 1000);
    const result = method(...args);
    if (!(result instanceof Promise)) return result;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        observe("timeout");
        reject(storeUnavailable(`the database did not answer ${name} within ${timeoutMs} ms`));
      }, timeoutMs);
    });
    return Promise.race([
      result.then(
        (value) => (observe("ok"), value),
        (error: unknown) => {
          observe("error");
          if (error instanceof Error && UNREACHABLE.test(error.name)) throw storeUnavailable("the database cannot be reached");
          throw error;
        },
      ),
      deadline,
    ]).finally(() => clearTimeout(timer));
  };
}
