export * from "./authorize.js";
export * from "./client-auth.js";
export * from "./discover-auth-server.js";
export * from "./discover-resource.js";
export * from "./probe.js";
export * from "./register.js";
export * from "./tokens.js";
