import { MemoryStore } from "../../src/store/memory.js";
import type { Store } from "../../src/store/store.js";

/** A store that counts the calls made to each of its methods. */
export function countingStore(inner: Store = new MemoryStore()): { store: Store; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.set(String(property), (calls.get(String(property)) ?? 0) + 1);
        return value.apply(target, args);
      };
    },
  });
  return { store, calls };
}
