import { afterAll, beforeAll, describe, expect } from "vitest";
import { DomainError } from "../../src/domain/errors.js";
import type { Store } from "../../src/store/store.js";

/**
 * A capability's part of the store contract, run against a fresh store of one adapter, opened
 * before its tests and closed after. The tests are defined before the store is opened, so
 * `define` gets a stand-in that answers with the opened store's members.
 */
export function describeContract(title: string, openStore: () => Promise<Store>, define: (store: Store) => void) {
  describe(title, () => {
    let opened: Store | undefined;
    beforeAll(async () => {
      opened = await openStore();
    });
    afterAll(async () => {
      await opened?.close();
    });
    define(new Proxy({} as Store, { get: (_, property) => Reflect.get(opened!, property) }));
  });
}

export async function expectAlreadyExists(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(DomainError);
  expect((error as DomainError).kind).toBe("already_exists");
}
