import { MemoryStore } from "../../src/store/memory.js";
import type { Store } from "../../src/store/store.js";

/** A store that counts the calls made to each of its methods, and its tables' (as `keyspaces.find`). */
export function countingStore(inner: Store = new MemoryStore()): { store: Store; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  return { store: counting(inner, "", calls), calls };
}

function counting<T extends object>(target: T, path: string, calls: Map<string, number>): T {
  const tables = new Map<PropertyKey, unknown>();
  return new Proxy(target, {
    get(inner, property, receiver) {
      const value = Reflect.get(inner, property, receiver);
      const name = `${path}${String(property)}`;
      if (value && typeof value === "object" && !(value instanceof Date)) {
        if (!tables.has(property)) tables.set(property, counting(value, `${name}.`, calls));
        return tables.get(property);
      }
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.set(name, (calls.get(name) ?? 0) + 1);
        return value.apply(inner, args);
      };
    },
  });
}
