/**
 * @authchart/node — what a Node application needs around @authchart/core: the browser step on
 * this machine, a per-user credential store, a lock shared by the processes of one user, a file
 * for a recorded flow (openTraceFile), and NodeAuth.layer with all of them for Effect users.
 */

export * from "./browser.js";
export * from "./config-dir.js";
export { type FileLockOptions, layerFileLock, lockFileName, makeFileLock } from "./file-lock.js";
export * from "./file-store.js";
export * from "./keychain.js";
export * from "./layers.js";
export * from "./loopback-receiver.js";
export { openTraceFile, type TraceFile } from "./trace-file.js";
export * from "./user-agent.js";
