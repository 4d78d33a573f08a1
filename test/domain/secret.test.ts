import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { BASE58_ALPHABET, charsForBits, randomBase58, type RandomSource } from "../../src/domain/base58.js";
import { digestSecret, isWellFormedSecret, issueSecret, SECRET_PATTERN } from "../../src/domain/secret.js";

describe("issueSecret", () => {
  it("builds <prefix>_<random><checksum> that the scanner pattern finds", () => {
    const { secret, start } = issueSecret("pay", 16, 4);
    expect(secret).toMatch(/^pay_[1-9A-HJ-NP-Za-km-z]{28}$/);
    expect(SECRET_PATTERN.exec(`token=${secret};`)?.[0]).toBe(secret);
    expect(start).toBe(secret.slice(0, "pay_".length + 4));
    expect(isWellFormedSecret(secret)).toBe(true);
  });

  it("carries at least the requested bits of randomness", () => {
    for (const bytes of [16, 32, 64]) {
      const chars = charsForBits(bytes * 8);
      expect(chars * Math.log2(58)).toBeGreaterThanOrEqual(bytes * 8);
      expect(issueSecret("lk", bytes, 0).secret).toHaveLength("lk_".length + chars + 6);
    }
  });

  it("draws its randomness from the given source, and from the CSPRNG by default", () => {
    const requested: number[] = [];
    const counting: RandomSource = (size) => {
      requested.push(size);
      return new Uint8Array(size).fill(57);
    };
    const { secret } = issueSecret("lk", 16, 0, counting);
    expect(secret.slice(3, 3 + 22)).toBe("z".repeat(22));
    expect(requested.length).toBeGreaterThan(0);
    const secrets = new Set(Array.from({ length: 1000 }, () => issueSecret("lk", 16, 0).secret));
    expect(secrets.size).toBe(1000);
  });

  it("keeps prefixes with underscores intact", () => {
    const { secret } = issueSecret("my_app", 16, 2);
    expect(secret.startsWith("my_app_")).toBe(true);
    expect(isWellFormedSecret(secret)).toBe(true);
  });

  it("stores nothing but the SHA-256 digest of the secret", () => {
    const { secret, digest } = issueSecret("lk", 16, 4);
    expect(digest).toBe(createHash("sha256").update(secret).digest("hex"));
    expect(digestSecret(secret)).toBe(digest);
  });
});

describe("randomBase58", () => {
  it("redraws bytes that would bias the alphabet", () => {
    const bytes = [255, 240, 232, 0, 231];
    const source: RandomSource = (size) => Uint8Array.from({ length: size }, () => bytes.shift() ?? 1);
    expect(randomBase58(2, source)).toBe(BASE58_ALPHABET[0]! + BASE58_ALPHABET[231 % 58]!);
  });

  it("spreads characters evenly over the alphabet", () => {
    const counts = new Map<string, number>();
    for (const char of randomBase58(58_000)) counts.set(char, (counts.get(char) ?? 0) + 1);
    expect(counts.size).toBe(58);
    for (const count of counts.values()) expect(count).toBeGreaterThan(800);
  });
});

describe("isWellFormedSecret", () => {
  const { secret } = issueSecret("pay", 16, 4);
  const candidates = `${BASE58_ALPHABET}_0OIl-`;

  it("rejects every single-character change", () => {
    let tried = 0;
    for (let i = 0; i < secret.length; i++) {
      for (const replacement of candidates) {
        if (replacement === secret[i]) continue;
        tried++;
        const changed = secret.slice(0, i) + replacement + secret.slice(i + 1);
        expect(isWellFormedSecret(changed), `position ${i} to ${replacement}`).toBe(false);
      }
    }
    expect(tried).toBeGreaterThan(secret.length * 58);
  });

  it("rejects truncations, extensions, swapped neighbours and junk", () => {
    for (let length = 0; length < secret.length; length++) expect(isWellFormedSecret(secret.slice(0, length))).toBe(false);
    expect(isWellFormedSecret(`${secret}1`)).toBe(false);
    for (let i = 0; i + 1 < secret.length; i++) {
      if (secret[i] === secret[i + 1]) continue;
      const swapped = secret.slice(0, i) + secret[i + 1] + secret[i] + secret.slice(i + 2);
      expect(isWellFormedSecret(swapped)).toBe(false);
    }
    for (const junk of ["", "_", "pay_", "Bearer x", `PAY_${secret.slice(4)}`, " ".repeat(40), "a".repeat(10_000)]) {
      expect(isWellFormedSecret(junk)).toBe(false);
    }
  });
});
