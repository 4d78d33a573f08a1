import { randomUUID } from "node:crypto";
import { inject } from "vitest";
import { MongoStore } from "../../src/store/mongodb.js";
import { analyticsContract } from "./analytics-contract.js";
import { storeContract } from "./contract.js";

storeContract("mongodb", () => MongoStore.connect(inject("mongoUri"), `latchkey_test_${randomUUID()}`));
analyticsContract("mongodb", () => MongoStore.connect(inject("mongoUri"), `latchkey_test_${randomUUID()}`));
