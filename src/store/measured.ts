import type { Metrics } from "../metrics.js";
import type { Store } from "./store.js";

/**
 * The same store, timing every call into `metrics` by method (`findKeyByHash`, `keyspaces.find`):
 * one place sees every storage call whichever adapter serves it.
 */
export function measuredStore(store: Store, metrics: Metrics): Store {
  return measured(store, "", metrics);
}

function measured<T extends object>(target: T, path: string, metrics: Metrics): T {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(target, {
    get(inner, property, receiver) {
      if (wrapped.has(property)) return wrapped.get(property);
      const value = Reflect.get(inner, property, receiver);
      const name = `${path}${String(property)}`;
      let result: unknown = value;
      if (typeof value === "function") result = timed(value.bind(inner), name, metrics);
      else if (value && typeof value === "object") result = measured(value, `${name}.`, metrics);
      else return value;
      wrapped.set(property, result);
      return result;
    },
  });
}

function timed(method: (...args: unknown[]) => unknown, name: string, metrics: Metrics) {
  return (...args: unknown[]) => {
    const started = performance.now();
    const observe = (outcome: "ok" | "error") => metrics.storeCall(name, outcome, (performance.now() - started) / 1000);
    const result = method(...args);
    if (!(result instanceof Promise)) return result;
    return result.then(
      (value) => (observe("ok"), value),
      (error: unknown) => {
        observe("error");
        throw error;
      },
    );
  };
}
