import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { type Browser, chromium } from "playwright-core";

const run = promisify(execFile);
const DEBIAN_CHROMIUM = "/usr/bin/chromium";

/**
 * A Chromium for the browser tests, found as the MongoDB is: CHROMIUM_PATH if set; else Debian's
 * chromium; else, on a Debian machine where the tests run as root, Debian's chromium installed
 * now, so a fresh CI machine needs nothing by hand. Playwright's own browser download is not used:
 * it is blocked where these tests run.
 */
export async function findChromium(log: (line: string) => void): Promise<string> {
  const configured = process.env.CHROMIUM_PATH;
  if (configured) return configured;
  if (!existsSync(DEBIAN_CHROMIUM)) {
    if (process.getuid?.() !== 0 || !existsSync("/usr/bin/apt-get")) {
      throw new Error(`the browser tests need Chromium: install Debian's chromium package or set CHROMIUM_PATH`);
    }
    log("[test chromium] installing Debian's chromium package");
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    await run("apt-get", ["update", "-qq"], { env });
    await run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "chromium"], { env, maxBuffer: 64 * 1024 * 1024 });
  }
  const { stdout } = await run(DEBIAN_CHROMIUM, ["--version"]);
  log(`[test chromium] using ${stdout.trim()}`);
  return DEBIAN_CHROMIUM;
}

/** Headless Chromium at `executablePath`, its own traffic (QUIC, updates, sync) off: the browser tests talk only to loopback servers. */
export const launchChromium = (executablePath: string): Promise<Browser> =>
  chromium.launch({
    executablePath,
    args: ["--disable-quic", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
