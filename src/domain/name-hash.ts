/**
 * FNV-1a of a name, in [0, 2^32): the same for the same name everywhere, and spread evenly over
 * names. For spreading work by name (when a window starts, when a key's use is written), nothing more.
 */
export function nameHash(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return hash;
}
