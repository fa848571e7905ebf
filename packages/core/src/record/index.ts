/**
 * `@authchart/core/record`: a flow recorded for later — `createRecorder` (the session's
 * transport, inspection events and decision trace as secret-free JSON lines), the lines' Schema,
 * and `readTrace` / `timelineOf` / `pathsOf` to read a recording back (`authchart trace` and its
 * HTML report are built on them).
 */
export * from "./http-redaction.js";
export * from "./lines.js";
export * from "./read.js";
export * from "./recorder.js";
