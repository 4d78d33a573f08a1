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

  it("reads the analytics settings, retention in days, and refuses a flush interval out of range", () => {
    expect(loadConfig({}).verification.analytics).toMatchObject({
      enabled: true,
      flushMs: 5000,
      maxGroupsPerMinute: 10_000,
      retention: { minute: 7 * 86_400_000 },
    });
    const set = loadConfig({ ANALYTICS_ENABLED: "false", ANALYTICS_FLUSH_MS: "1000", ANALYTICS_HOUR_RETENTION_DAYS: "30" }).verification.analytics;
    expect(set).toMatchObject({ enabled: false, flushMs: 1000, retention: { hour: 30 * 86_400_000, day: 731 * 86_400_000 } });
    expect(() => loadConfig({ ANALYTICS_FLUSH_MS: "50" })).toThrow("ANALYTICS_FLUSH_MS must be an integer from 100 to 60000");
  });

  it("serves the console outside production unless turned off, and in production only when turned on", () => {
    expect(loadConfig({}).consoleEnabled).toBe(true);
    expect(loadConfig({ CONSOLE_ENABLED: "false" }).consoleEnabled).toBe(false);
    expect(loadConfig({ NODE_ENV: "production", MONGODB_URI: "mongodb://db" }).consoleEnabled).toBe(false);
    expect(loadConfig({ NODE_ENV: "production", MONGODB_URI: "mongodb://db", CONSOLE_ENABLED: "true" }).consoleEnabled).toBe(true);
    expect(() => loadConfig({ CONSOLE_ENABLED: "yes" })).toThrow("CONSOLE_ENABLED must be true or false");
  });
});
