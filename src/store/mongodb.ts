import type { MongoClient, MongoClientOptions } from "mongodb";
import { mongoAuditLog } from "./audit/mongodb.js";
import { mongoChangeLog } from "./changes/mongodb.js";
import { mongoCredits } from "./credits/mongodb.js";
import { mongoIdempotency } from "./idempotency/mongodb.js";
import { mongoKeys } from "./keys/mongodb.js";
import { connectClient, ensureIndexes, migrate, type MongoCollections, openCollections } from "./mongodb-connection.js";
import { mongoRateLimitWindows } from "./rate-limit-windows/mongodb.js";
import { mongoRbac } from "./rbac/mongodb.js";
import { ComposedStore } from "./store.js";

/** Keeps everything in one MongoDB database, one part per capability over the collections mongodb-connection.ts opens. */
export class MongoStore extends ComposedStore {
  private constructor(
    /** Public for tests that watch the commands sent. */
    readonly client: MongoClient,
    databaseName: string,
    collections: MongoCollections,
  ) {
    super({
      description: `MongoDB database ${databaseName}`,
      workspaces: collections.workspaces,
      rootKeys: collections.rootKeys,
      keyspaces: collections.keyspaces,
      identities: collections.identities,
      ...mongoRbac(collections),
      ...mongoIdempotency(collections.requests),
      ...mongoKeys(collections),
      ...mongoCredits(collections.keys),
      ...mongoRateLimitWindows(collections.rateLimitWindows),
      ...mongoChangeLog(collections.changes),
      ...mongoAuditLog(collections.auditEvents),
      ratelimits: collections.ratelimits,
      analytics: collections.analytics,
      checkHealth: () => ensureIndexes(collections),
      close: () => client.close(),
    });
  }

  /** Connects, brings documents of earlier versions up to date, and creates the indexes the queries rely on. */
  static async connect(uri: string, databaseName: string, clientOptions: MongoClientOptions = {}): Promise<MongoStore> {
    const client = await connectClient(uri, clientOptions);
    const collections = openCollections(client.db(databaseName));
    const store = new MongoStore(client, databaseName, collections);
    await migrate(collections);
    await store.checkHealth();
    return store;
  }
}
