import type { Interceptor, Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import type { TestServer } from "./server.js";

/** Each transport of every listener of a test server, sending the given interceptors (the server's root key unless told otherwise). */
type TransportFor = (interceptors?: Interceptor[]) => Transport;
export const transportsOf = (server: () => TestServer): [string, TransportFor][] => [
  ["gRPC over HTTP/2", (interceptors = [server().auth]) => createGrpcTransport({ baseUrl: server().url, interceptors })],
  ["gRPC on the native grpc-js port", (interceptors = [server().auth]) => createGrpcTransport({ baseUrl: server().grpcUrl, interceptors })],
  ["gRPC-Web over HTTP/2", (interceptors = [server().auth]) => createGrpcWebTransport({ baseUrl: server().url, interceptors, httpVersion: "2" })],
  ["Connect binary over HTTP/2", (interceptors = [server().auth]) => createConnectTransport({ baseUrl: server().url, interceptors, httpVersion: "2" })],
  [
    "Connect JSON over HTTP/1.1",
    (interceptors = [server().auth]) => createConnectTransport({ baseUrl: server().http1Url, interceptors, httpVersion: "1.1", useBinaryFormat: false }),
  ],
  ["gRPC-Web over HTTP/1.1", (interceptors = [server().auth]) => createGrpcWebTransport({ baseUrl: server().http1Url, interceptors, httpVersion: "1.1" })],
];
