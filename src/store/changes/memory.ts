import type { ChangeLog, KeyChange } from "./index.js";

export function memoryChangeLog(): ChangeLog {
  let changes: KeyChange[] = [];
  let lastSeq = 0;
  return {
    async appendChange(change) {
      const seq = ++lastSeq;
      changes.push(structuredClone({ ...change, seq }));
      return seq;
    },

    async changesAfter(after, limit) {
      return changes
        .filter((change) => change.seq > after)
        .slice(0, limit)
        .map((change) => structuredClone(change));
    },

    async lastChangeSeq() {
      return lastSeq;
    },

    async pruneChanges(before) {
      changes = changes.filter((change) => change.at >= before);
    },
  };
}
