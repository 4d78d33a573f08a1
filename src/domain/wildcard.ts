/** Patterns where `*` matches any run of characters (none included); everything else matches itself. */
export function wildcardMatcher(pattern: string): (value: string) => boolean {
  if (!pattern.includes("*")) return (value) => value === pattern;
  const source = pattern.split("*").map(escapeRegExp).join(".*");
  const regex = new RegExp(`^${source}$`, "s");
  return (value) => regex.test(value);
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
