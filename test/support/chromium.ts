import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { promisify } from "node:util";
import { type Browser, type BrowserContext, type BrowserContextOptions, type BrowserServer, chromium } from "playwright-core";

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

/**
 * Headless Chromium at `executablePath` for one test file, its own traffic (QUIC, updates, sync)
 * off: the browser tests talk only to loopback servers. It is launched as a browser server so that
 * its process is ours to watch: a Chromium that dies under a test, which a loaded machine can
 * make happen, says how it ended and is replaced (`steps`).
 */
export class TestChromium {
  private server: BrowserServer | undefined;
  private browser: Browser | undefined;
  private ended: string | undefined;

  private constructor(private readonly executablePath: string) {}

  static async launch(executablePath: string): Promise<TestChromium> {
    const launched = new TestChromium(executablePath);
    await launched.connected();
    return launched;
  }

  async newContext(options?: BrowserContextOptions): Promise<BrowserContext> {
    return (await this.connected()).newContext(options);
  }

  async newPage() {
    return (await this.connected()).newPage();
  }

  /**
   * Runs a test's browser steps. When Chromium's process ended while they ran (the steps then fail
   * with "Target page, context or browser has been closed"), it logs how the process ended and runs
   * the steps once more on a new Chromium; any other failure, and a second one, is the test's.
   */
  async steps<T>(steps: () => Promise<T>): Promise<T> {
    try {
      return await steps();
    } catch (error) {
      const how = this.howItEnded();
      if (how === undefined) throw error;
      console.warn(`[test chromium] Chromium ended under a test (${how}); its steps run once more on a new Chromium. They failed with: ${error}`);
      return steps();
    }
  }

  /** The running Chromium's process id: a test of `steps` kills it. */
  get processId(): number | undefined {
    return this.server?.process().pid;
  }

  async close() {
    const browser = this.browser;
    this.browser = undefined;
    await browser?.close();
    await this.server?.close();
  }

  /**
   * How the Chromium process ended, or undefined while it runs. A step fails as soon as Chromium's
   * pipe closes, which can be before Node has seen the process exit: the process table says it
   * has ended then (a zombie, or gone).
   */
  private howItEnded(): string | undefined {
    if (this.ended !== undefined) return this.ended;
    const pid = this.processId;
    if (pid === undefined) return undefined;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      return state === "Z" || state === "X" ? "its process ended" : undefined;
    } catch {
      return existsSync("/proc/self/stat") ? "its process ended" : undefined;
    }
  }

  private async connected(): Promise<Browser> {
    if (this.browser?.isConnected() && this.howItEnded() === undefined) return this.browser;
    await this.server?.close();
    this.ended = undefined;
    const server = await chromium.launchServer({
      executablePath: this.executablePath,
      args: ["--disable-quic", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    this.server = server;
    server.process().once("exit", (code, signal) => {
      if (this.server === server) this.ended = signal ? `signal ${signal}` : `exit code ${code}`;
    });
    this.browser = await chromium.connect(server.wsEndpoint());
    return this.browser;
  }
}
