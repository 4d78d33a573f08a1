import { cors } from "@connectrpc/connect";
import { REQUEST_ID_HEADER } from "../pipeline/observe.js";
import type { Logger } from "../observability/log.js";
import type { NodeHandler } from "./connect-adapter.js";

/** How often at most a refused browser origin is logged: a page calling in a loop writes one line a minute, not one per call. */
export const REFUSED_ORIGIN_LOG_MS = 60_000;

/**
 * Lets browsers on the allowed origins call the API, answering their preflight requests here, and
 * lets their scripts read the request id. A call from any other origin is served without CORS
 * headers, so the browser withholds the answer; the log says so, at most once a REFUSED_ORIGIN_LOG_MS.
 */
export function withCors(handler: NodeHandler, allowedOrigins: readonly string[], log: Logger, now: () => number): NodeHandler {
  const allowed = (origin: string) => allowedOrigins.includes(origin);
  const exposed = [...cors.exposedHeaders, REQUEST_ID_HEADER].join(", ");
  let lastRefusalLogged = -Infinity;
  let refusedSinceLogged = 0;
  return (request, response) => {
    const origin = request.headers.origin;
    if (typeof origin === "string" && allowed(origin)) {
      response.setHeader("access-control-allow-origin", origin);
      response.setHeader("vary", "origin");
      response.setHeader("access-control-expose-headers", exposed);
      if (request.method === "OPTIONS") {
        response.setHeader("access-control-allow-methods", cors.allowedMethods.join(", "));
        response.setHeader("access-control-allow-headers", [...cors.allowedHeaders, "Authorization", REQUEST_ID_HEADER].join(", "));
        response.setHeader("access-control-max-age", "7200");
        response.writeHead(204);
        response.end();
        return;
      }
    } else if (typeof origin === "string") {
      refusedSinceLogged++;
      if (now() - lastRefusalLogged >= REFUSED_ORIGIN_LOG_MS) {
        log.warn("a browser origin outside CORS_ALLOWED_ORIGINS called: the browser withholds the answer", {
          origin: origin.slice(0, 200),
          refusedCalls: refusedSinceLogged,
          allowedOrigins: allowedOrigins.length ? allowedOrigins : "none",
        });
        lastRefusalLogged = now();
        refusedSinceLogged = 0;
      }
    }
    handler(request, response);
  };
}
