import { describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";

describe("configuration", () => {
  it("lets no browser origin call unless origins are listed", () => {
    expect(loadConfig({}).corsAllowedOrigins).toEqual([]);
    expect(loadConfig({ CORS_ALLOWED_ORIGINS: "https://app.example.com, http://localhost:3000" }).corsAllowedOrigins).toEqual([
      "https://app.example.com",
      "http://localhost:3000",
    ]);
  });

  it.each(["*", "https://*.example.com", "https://app.example.com/path", "app.example.com", "ftp://files.example.com"])(
    "refuses %s as an allowed origin",
    (origin) => {
      expect(() => loadConfig({ CORS_ALLOWED_ORIGINS: origin })).toThrow(/^CORS_ALLOWED_ORIGINS must list origins/);
    },
  );
});
