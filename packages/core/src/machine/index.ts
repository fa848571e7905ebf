export * from "./actors.js";
export * from "./auth-machine.js";
export * from "./decisions.js";
export * from "./errors.js";
export * from "./model.js";
export * from "./persistence.js";
export * from "./redact.js";
export * from "./step-actors.js";
