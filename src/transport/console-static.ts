import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import type { NodeHandler } from "./connect-adapter.js";
import type { Logger } from "../observability/log.js";

/** Where the console is built: packages/console/dist beside src/ (from the sources) or beside dist/src/ (compiled). */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL("../../packages/console/dist", import.meta.url));

export const CONSOLE_PATH = "/console";

/**
 * The page may load only its own scripts and styles and call only its own origin: no inline
 * script, no other site's code, no framing (against clickjacking a page that holds a root key).
 * uPlot and Preact set element styles through the DOM, which style-src does not govern.
 */
export const CONSOLE_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Hashed names change with their content, so a browser may keep them for a year without asking again. */
const ASSET_CACHE = "public, max-age=31536000, immutable";
/** The page names the current assets, so a browser asks again each time (an ETag answer is small). */
const PAGE_CACHE = "no-cache";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

interface StaticFile {
  body: Buffer;
  gzipped: Buffer;
  contentType: string;
  cacheControl: string;
  etag: string;
}

/**
 * The console's files, read once at start into memory: only names found then are served, so no
 * request path can reach anything else on disk. Undefined (and logged) when the folder holds no
 * build, so the service still starts.
 */
export function loadConsoleFiles(dir: string, log: Logger): Map<string, StaticFile> | undefined {
  const index = join(dir, "index.html");
  if (!existsSync(index)) {
    log.warn("the console is not built, so /console answers 404: npm start builds it, or run npm run build:console", { dir });
    return undefined;
  }
  const files = new Map<string, StaticFile>();
  const add = (path: string, file: string, cacheControl: string) => {
    const body = readFileSync(file);
    const contentType = CONTENT_TYPES[extname(file)];
    if (!contentType) return;
    files.set(path, {
      body,
      gzipped: gzipSync(body),
      contentType,
      cacheControl,
      etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
    });
  };
  add(`${CONSOLE_PATH}/`, index, PAGE_CACHE);
  const assets = join(dir, "assets");
  if (existsSync(assets)) for (const name of readdirSync(assets)) add(`${CONSOLE_PATH}/assets/${name}`, join(assets, name), ASSET_CACHE);
  return files;
}

/**
 * Serves the console under /console (GET and HEAD) and passes every other request to `next`, the
 * API. Without files (the console turned off, or not built) /console is the API's to answer: 404.
 */
export function withConsole(next: NodeHandler, files: Map<string, StaticFile> | undefined): NodeHandler {
  if (!files) return next;
  return (request, response) => {
    const path = (request.url ?? "").split("?")[0]!;
    if (path !== CONSOLE_PATH && !path.startsWith(`${CONSOLE_PATH}/`)) return next(request, response);
    const headers: Record<string, string> = {
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "cross-origin-opener-policy": "same-origin",
    };
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { ...headers, allow: "GET, HEAD" }).end();
      return;
    }
    if (path === CONSOLE_PATH) {
      response.writeHead(308, { ...headers, location: `${CONSOLE_PATH}/` }).end();
      return;
    }
    const file = files.get(path);
    if (!file) {
      response.writeHead(404, { ...headers, "content-type": "text/plain; charset=utf-8", "cache-control": "no-cache" }).end("not found\n");
      return;
    }
    if (file.contentType.startsWith("text/html")) headers["content-security-policy"] = CONSOLE_CONTENT_SECURITY_POLICY;
    Object.assign(headers, { "content-type": file.contentType, "cache-control": file.cacheControl, etag: file.etag, vary: "accept-encoding" });
    if (request.headers["if-none-match"] === file.etag) {
      response.writeHead(304, headers).end();
      return;
    }
    const gzip = /\bgzip\b/.test(String(request.headers["accept-encoding"] ?? ""));
    const body = gzip ? file.gzipped : file.body;
    if (gzip) headers["content-encoding"] = "gzip";
    headers["content-length"] = String(body.length);
    response.writeHead(200, headers);
    if (request.method === "HEAD") response.end();
    else response.end(body);
  };
}
