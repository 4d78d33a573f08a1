/**
 * The container's HEALTHCHECK: asks the service's own gRPC health check over Connect JSON on the
 * HTTP/1.1 listener, and exits 0 only for SERVING. Needs no tool the runtime image lacks.
 */
const port = process.env.HTTP1_PORT || "8081";
const scheme = process.env.TLS_CERT_FILE ? "https" : "http";

try {
  const response = await fetch(`${scheme}://127.0.0.1:${port}/grpc.health.v1.Health/Check`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
    signal: AbortSignal.timeout(3000),
  });
  const { status } = (await response.json()) as { status?: string };
  process.exit(status === "SERVING" ? 0 : 1);
} catch {
  process.exit(1);
}
