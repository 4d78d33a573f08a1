import { type ContextValues, createContextKey, createContextValues, type HandlerContext } from "@connectrpc/connect";
import type { Caller } from "../domain/access.js";

/**
 * How the pipeline reads and writes a call's headers, one at a time. Each transport supplies it in
 * the form that costs it least (grpc-js: its metadata, untouched; Connect: the Fetch API's Headers),
 * so the pipeline never asks which transport carried a call.
 */
export interface HeaderAccess {
  requestHeaderValue(name: string): string | null;
  setResponseHeaderValue(name: string, value: string): void;
}

/** A call's context as every transport hands it to the pipeline. */
export type CallContext = HandlerContext & HeaderAccess;

/** The authenticated caller, set before the handler runs. */
export const CALLER = createContextKey<Caller | undefined>(undefined, { description: "calling root key" });
/** The caller's network address, as the listener that took the call saw it. */
export const PEER_ADDRESS = createContextKey("", { description: "peer address" });

export const peerContextValues = (address: string | undefined): ContextValues => createContextValues().set(PEER_ADDRESS, address ?? "");

/** The caller of a procedure that needs a permission. */
export function callerIn(context: HandlerContext): Caller {
  const caller = context.values.get(CALLER);
  if (!caller) throw new Error("no authenticated caller: the procedure was registered without a permission");
  return caller;
}
