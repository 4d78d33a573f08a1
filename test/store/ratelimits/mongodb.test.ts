import { randomUUID } from "node:crypto";
import { inject } from "vitest";
import { MongoStore } from "../../../src/store/mongodb.js";
import { ratelimitStoreContract } from "./contract.js";

ratelimitStoreContract("mongodb", () => MongoStore.connect(inject("mongoUri"), `latchkey_test_${randomUUID()}`));
