/**
 * @authchart/core/internals — what the packages of this repository share beyond the curated
 * root: the machine's decisions, step actors and persisted-session schema, the wire schemas, the
 * HTTP helpers, the client-settings checks. Everything the root exports is here too. No stability
 * promise between minor versions: applications import from the root.
 */
export * from "./client-settings.js";
export * from "./errors.js";
export * from "./index.js";
export * from "./machine/actors.js";
export * from "./machine/decisions.js";
export * from "./machine/flows/flow.js";
export * from "./machine/model.js";
export * from "./machine/persistence.js";
export * from "./machine/step-actors.js";
export * from "./protocol/dpop.js";
export * from "./quirks/apply.js";
export * from "./quirks/match.js";
export * from "./quirks/profiles.js";
export * from "./schema/wire.js";
export * from "./services/http.js";
export * from "./session/scheduler.js";
export * from "./steps/index.js";
