import type { Store } from "../../src/store/store.js";

/**
 * A store whose calls can be made to fail or to hang, as a database that went away or stopped
 * answering does: while `hanging`, no call ever answers; while `failing`, health checks are refused.
 */
export function faultyStore(inner: Store) {
  const faults = { failing: false, hanging: false };
  const faulty = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(object, property, receiver) {
        const value = Reflect.get(object, property, receiver);
        if (value && typeof value === "object") return faulty(value);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          if (faults.hanging) return new Promise(() => {});
          if (faults.failing && property === "checkHealth") return Promise.reject(new Error("connection refused"));
          return value.apply(object, args);
        };
      },
    });
  return { store: faulty(inner), faults };
}
