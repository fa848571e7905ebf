/**
 * @authchart/core/check — what an MCP server's authorization advertises and where clients trip,
 * without authorizing: `probeServer` fetches every discovery location and records each request
 * (an Effect over OAuthHttp); `collectAdvertised`, `judgePitfalls` and `reportProbe` are pure
 * functions over that record. `authchart probe <url>` is built on them.
 */
export * from "./advertised.js";
export * from "./discover.js";
export * from "./pitfalls.js";
export * from "./record.js";
export * from "./report.js";
