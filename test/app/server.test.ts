import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createLogger } from "../../src/observability/log.js";
import { startServer } from "../../src/app/server.js";
import { MemoryStore } from "../../src/store/memory.js";

/** Every address here is on loopback: 127.0.0.2 stands for an interface other than the metrics one. */
async function serverWithMetrics(options: { host: string; metricsHost?: string }) {
  const store = new MemoryStore();
  const server = await startServer({
    ...loadConfig({}),
    ...options,
    port: 0,
    http1Port: undefined,
    metricsPort: 0,
    store,
    log: createLogger("silent"),
  });
  return { server, stop: () => server.close().then(() => store.close()) };
}

const scrape = (host: string, port: number) =>
  fetch(`http://${host}:${port}/metrics`).then(
    (response) => response.status,
    () => "refused" as const,
  );

describe("the metrics listener", () => {
  it("listens on loopback by default, not on HOST, so metrics reach no network unless METRICS_HOST says so", async () => {
    expect(loadConfig({ HOST: "0.0.0.0" }).metricsHost).toBe("127.0.0.1");
    expect(loadConfig({ METRICS_HOST: "0.0.0.0" }).metricsHost).toBe("0.0.0.0");
    const { server, stop } = await serverWithMetrics({ host: "127.0.0.2" });
    try {
      expect(await scrape("127.0.0.1", server.metricsPort!)).toBe(200);
      expect(await scrape("127.0.0.2", server.metricsPort!)).toBe("refused");
    } finally {
      await stop();
    }
  });

  it("listens where METRICS_HOST says", async () => {
    const { server, stop } = await serverWithMetrics({ host: "127.0.0.1", metricsHost: "127.0.0.2" });
    try {
      expect(await scrape("127.0.0.2", server.metricsPort!)).toBe(200);
      expect(await scrape("127.0.0.1", server.metricsPort!)).toBe("refused");
    } finally {
      await stop();
    }
  });

  it("publishes no process figures for an instance that shares its process: they would describe the others too", async () => {
    const { server, stop } = await serverWithMetrics({ host: "127.0.0.1" });
    const scraped = await (await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`)).text();
    await stop();
    expect(scraped).toContain("latchkey_rpc_duration_seconds");
    expect(scraped).not.toContain("process_cpu_seconds_total");
  });
});
