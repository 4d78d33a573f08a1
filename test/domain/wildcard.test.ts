import { describe, expect, it } from "vitest";
import { wildcardMatcher } from "../../src/domain/wildcard.js";

/** The meaning of a pattern, spelled out by brute force: every way of giving each star a run. */
function reference(pattern: string, value: string): boolean {
  const star = pattern.indexOf("*");
  if (star === -1) return pattern === value;
  if (!value.startsWith(pattern.slice(0, star))) return false;
  const rest = pattern.slice(star + 1);
  for (let take = star; take <= value.length; take++) if (reference(rest, value.slice(take))) return true;
  return false;
}

describe("wildcardMatcher", () => {
  it.each([
    ["billing.*", "billing.refund", true],
    ["billing.*", "billing.", true],
    ["billing.*", "billing", false],
    ["*.read", "documents.read", true],
    ["api.*.write", "api.v1.write", true],
    ["api.*.write", "api.write", false],
    ["a*b*c", "abc", true],
    ["a*b*c", "acb", false],
    ["a*a", "a", false],
    ["*", "", true],
    ["**", "x", true],
    ["a.b", "a.b", true],
    ["a.b", "axb", false],
  ])("%s against %s: %s", (pattern, value, matches) => {
    expect(wildcardMatcher(pattern)(value)).toBe(matches);
  });

  it("agrees with the brute-force meaning on every small pattern and value over a two-letter alphabet", () => {
    const words = (length: number, alphabet: string[]): string[] =>
      length === 0 ? [""] : words(length - 1, alphabet).flatMap((word) => alphabet.map((letter) => word + letter));
    const patterns = [0, 1, 2, 3, 4].flatMap((length) => words(length, ["a", "b", "*"]));
    const values = [0, 1, 2, 3, 4, 5].flatMap((length) => words(length, ["a", "b"]));
    for (const pattern of patterns) {
      const matcher = wildcardMatcher(pattern);
      for (const value of values) expect(matcher(value), `${pattern} ~ ${value}`).toBe(reference(pattern, value));
    }
  });

  it("answers worst-case patterns at the maximum lengths in well under a millisecond each", () => {
    const pattern = `${"a*".repeat(63)}b`;
    const value = "a".repeat(1024);
    const matcher = wildcardMatcher(pattern);
    matcher(value);
    const started = performance.now();
    for (let i = 0; i < 100; i++) expect(matcher(value)).toBe(false);
    expect((performance.now() - started) / 100).toBeLessThan(1);
  });
});
