import { MemoryStore } from "../../src/store/memory.js";
import { ratelimitStoreContract } from "./ratelimit-contract.js";

ratelimitStoreContract("memory", async () => new MemoryStore());
