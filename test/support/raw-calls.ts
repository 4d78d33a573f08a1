import http from "node:http";
import http2 from "node:http2";

/**
 * Calls made byte by byte, below any client library, so tests can send what no well-behaved
 * client would: junk bodies, frames whose length prefix lies, oversized and deeply nested messages.
 */
export interface RawAnswer {
  /** The HTTP status of the response. */
  httpStatus: number;
  /** The gRPC status code (from trailers, the trailers-only headers or the gRPC-Web trailer frame), or the Connect error code. */
  code: string | number | undefined;
  message: string | undefined;
}

/** A gRPC length-prefixed frame: flag byte, 4-byte big-endian length, body. `declaredLength` lets a test lie about it. */
export function frame(body: Uint8Array, declaredLength = body.length, flags = 0): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt8(flags, 0);
  header.writeUInt32BE(declaredLength, 1);
  return Buffer.concat([header, body]);
}

/** One HTTP/2 session per base URL, reused by the calls of a test and closed by `closeSessions`. */
const sessions = new Map<string, http2.ClientHttp2Session>();
function session(baseUrl: string) {
  let open = sessions.get(baseUrl);
  if (!open || open.closed || open.destroyed) {
    open = http2.connect(baseUrl);
    open.on("error", () => sessions.delete(baseUrl));
    sessions.set(baseUrl, open);
  }
  return open;
}
export function closeSessions() {
  for (const open of sessions.values()) open.close();
  sessions.clear();
}

/** Sends `payload` (already framed, or not) as the body of a POST over HTTP/2 and reads status and trailers. */
export function http2Post(
  baseUrl: string,
  path: string,
  payload: Uint8Array,
  headers: Record<string, string>,
  timeoutMs = 5000,
): Promise<{ httpStatus: number; headers: http2.IncomingHttpHeaders; trailers: http2.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const stream = session(baseUrl).request({ ":method": "POST", ":path": path, ...headers });
    const timer = setTimeout(() => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    let responseHeaders: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on("response", (received) => (responseHeaders = received));
    stream.on("trailers", (received) => (trailers = received));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    stream.on("close", () => {
      clearTimeout(timer);
      resolve({ httpStatus: Number(responseHeaders[":status"]), headers: responseHeaders, trailers, body: Buffer.concat(chunks) });
    });
    stream.end(payload);
  });
}

/** A unary call over native gRPC: `payload` goes out as the whole request body, framed or not as the test chose. */
export async function grpcCall(baseUrl: string, path: string, payload: Uint8Array, metadata: Record<string, string> = {}): Promise<RawAnswer> {
  const answer = await http2Post(baseUrl, path, payload, { "content-type": "application/grpc", te: "trailers", ...metadata });
  const status = answer.trailers["grpc-status"] ?? answer.headers["grpc-status"];
  const message = answer.trailers["grpc-message"] ?? answer.headers["grpc-message"];
  return {
    httpStatus: answer.httpStatus,
    code: status === undefined ? undefined : Number(status),
    message: message === undefined ? undefined : decodeURIComponent(String(message)),
  };
}

/** A unary call over gRPC-Web (binary), on HTTP/2 or, with `http1`, on HTTP/1.1. */
export async function grpcWebCall(
  baseUrl: string,
  path: string,
  payload: Uint8Array,
  metadata: Record<string, string> = {},
  http1 = false,
): Promise<RawAnswer> {
  const headers = { "content-type": "application/grpc-web+proto", "x-grpc-web": "1", ...metadata };
  const answer = http1 ? await http1Post(baseUrl, path, payload, headers) : await http2Post(baseUrl, path, payload, headers);
  const trailers = { ...answer.headers, ...grpcWebTrailers(answer.body) };
  const status = trailers["grpc-status"];
  return {
    httpStatus: answer.httpStatus,
    code: status === undefined ? undefined : Number(status),
    message: trailers["grpc-message"] === undefined ? undefined : decodeURIComponent(String(trailers["grpc-message"])),
  };
}

/** A unary call with the Connect protocol, `application/proto` or `application/json`, on HTTP/2 or HTTP/1.1. */
export async function connectCall(
  baseUrl: string,
  path: string,
  payload: Uint8Array,
  contentType: "application/proto" | "application/json",
  metadata: Record<string, string> = {},
  http1 = false,
): Promise<RawAnswer> {
  const headers = { "content-type": contentType, "connect-protocol-version": "1", ...metadata };
  const answer = http1 ? await http1Post(baseUrl, path, payload, headers) : await http2Post(baseUrl, path, payload, headers);
  if (answer.httpStatus === 200) return { httpStatus: 200, code: undefined, message: undefined };
  let error: { code?: string; message?: string } = {};
  try {
    error = JSON.parse(answer.body.toString("utf8")) as typeof error;
  } catch {
    // A body that is not the Connect error JSON leaves code and message unknown, which the test sees.
  }
  return { httpStatus: answer.httpStatus, code: error.code, message: error.message };
}

function http1Post(
  baseUrl: string,
  path: string,
  payload: Uint8Array,
  headers: Record<string, string>,
  timeoutMs = 5000,
): Promise<{ httpStatus: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${baseUrl}${path}`, { method: "POST", headers, timeout: timeoutMs, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ httpStatus: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on("error", reject);
    });
    request.on("timeout", () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on("error", reject);
    request.end(payload);
  });
}

/** The trailers of a gRPC-Web body: the frame whose flag has bit 0x80 set, as HTTP header lines. */
function grpcWebTrailers(body: Buffer): Record<string, string> {
  let offset = 0;
  while (offset + 5 <= body.length) {
    const flags = body.readUInt8(offset);
    const length = body.readUInt32BE(offset + 1);
    const content = body.subarray(offset + 5, offset + 5 + length);
    offset += 5 + length;
    if ((flags & 0x80) === 0) continue;
    const trailers: Record<string, string> = {};
    for (const line of content.toString("utf8").split("\r\n")) {
      const colon = line.indexOf(":");
      if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    return trailers;
  }
  return {};
}
