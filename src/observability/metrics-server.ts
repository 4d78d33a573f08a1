import http from "node:http";
import type { Metrics } from "./metrics.js";

/** Prometheus scrapes GET /metrics; nothing else is served here. */
export function metricsServer(metrics: Metrics): http.Server {
  return http.createServer((request, response) => {
    if (request.method !== "GET" || request.url?.split("?")[0] !== "/metrics") {
      response.writeHead(404).end();
      return;
    }
    metrics.render().then(
      (text) => response.writeHead(200, { "content-type": metrics.registry.contentType }).end(text),
      () => response.writeHead(500).end(),
    );
  });
}
