/**
 * Patterns where `*` matches any run of characters (none included); everything else matches itself.
 * The pieces between stars are found left to right, each at its first place after the previous one:
 * for `*`-only patterns the leftmost match is always right, so matching never backtracks and
 * takes time linear in the value for each piece, whatever the pattern (no regex, so no ReDoS).
 */
export function wildcardMatcher(pattern: string): (value: string) => boolean {
  if (!pattern.includes("*")) return (value) => value === pattern;
  const pieces = pattern.split("*");
  const first = pieces[0]!;
  const last = pieces[pieces.length - 1]!;
  const middle = pieces.slice(1, -1).filter((piece) => piece !== "");
  return (value) => {
    if (value.length < first.length + last.length || !value.startsWith(first) || !value.endsWith(last)) return false;
    let at = first.length;
    const end = value.length - last.length;
    for (const piece of middle) {
      const found = value.indexOf(piece, at);
      if (found === -1 || found + piece.length > end) return false;
      at = found + piece.length;
    }
    return true;
  };
}
