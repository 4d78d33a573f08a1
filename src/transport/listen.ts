import type http from "node:http";
import type http2 from "node:http2";
import net, { type AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";

/**
 * A port taken by another process (often a latchkey started earlier and still running) is told as
 * one line naming the setting, so that whoever started this one sees at once why it stopped.
 */
export class PortInUseError extends Error {
  constructor(setting: string, host: string, port: number) {
    super(`${setting} ${port} on ${host} is already in use, perhaps by a latchkey started earlier; stop that one or set ${setting} to another port`);
  }
}

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

/** Listens on host and port (0 picks a free one) and resolves with the port; `setting` names the port in the error when it is taken. */
export function listen(server: http.Server | http2.Http2Server | net.Server, host: string, port: number, setting: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const refused = (error: NodeJS.ErrnoException) => reject(error.code === "EADDRINUSE" ? new PortInUseError(setting, host, port) : error);
    server.once("error", refused);
    server.listen(port, host, () => {
      server.off("error", refused);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function bindGrpc(server: grpc.Server, host: string, port: number, tls: TlsFiles | undefined): Promise<number> {
  // grpc-js reports a taken port only as a list of resolver errors (and logs it to stderr itself), so it is tried first.
  if (port !== 0) {
    const probe = net.createServer();
    await listen(probe, host, port, "GRPC_PORT");
    await new Promise((resolve) => probe.close(resolve));
  }
  const credentials = tls
    ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: tls.cert, private_key: tls.key }], false)
    : grpc.ServerCredentials.createInsecure();
  const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => server.bindAsync(address, credentials, (error, bound) => (error ? reject(error) : resolve(bound))));
}

export const closeServer = (server: http.Server | http2.Http2Server) => new Promise<void>((resolve) => server.close(() => resolve()));
