/**
 * The protocol layer: pure functions over OAuth / MCP wire details, one module per RFC concern,
 * the lowest layer of core. No Effect, no xstate, no I/O; nothing here throws.
 */
export * from "./dpop.js";
export * from "./loopback-redirect.js";
export * from "./metadata-urls.js";
export * from "./resource-uri.js";
export * from "./scopes.js";
export * from "./www-authenticate.js";
