/**
 * @authchart/core — the MCP client authorization lifecycle: protocol functions, wire schemas,
 * typed errors, Effect services and one Effect program per lifecycle step.
 */
export * from "./client-settings.js";
export * from "./errors.js";
export * from "./machine/index.js";
export type { DpopAlgorithm, DpopPolicy, DpopUse } from "./protocol/dpop.js";
export * as Protocol from "./protocol/index.js";
export * from "./schema/credentials.js";
export * from "./schema/wire.js";
export * from "./services/credential-store.js";
export {
  DPoP,
  type DPoPService,
  type DpopOptions,
  type DpopProof,
  type DpopProofRequest,
  type DpopServer,
  type ResourceRequestHeaders,
} from "./services/dpop.js";
export * from "./services/headless-user-agent.js";
export * from "./services/http.js";
export * from "./services/randomness.js";
export * from "./services/session-lock.js";
export * from "./services/user-agent.js";
export * from "./session/effect.js";
export * from "./session/session.js";
export * from "./steps/index.js";
