/**
 * What both entry points (the SDK 1.x root and `/v2`) export the same way: connect's option
 * types, the typed errors, `transportOptions`. Nothing here imports either SDK.
 */
export type {
  ConnectChoices,
  Connection,
  ConnectOptions,
  GivenSessionOptions,
  NewSessionOptions,
} from "./connect.js";
export {
  authchartErrorOf,
  isAuthchartError,
  McpConnectFailed,
  type McpTransportKind,
} from "./errors.js";
export { transportOptions } from "./transport-options.js";

/**
 * `code` if it is an HTTP status code (100–599, RFC 9110 §15), else undefined: the SDKs' transport
 * errors use -1 for a failure that has none (an answer of the wrong content type).
 * @see https://www.rfc-editor.org/rfc/rfc9110#section-15
 */
export const asHttpStatus = (code: unknown): number | undefined =>
  typeof code === "number" && Number.isInteger(code) && code >= 100 && code <= 599
    ? code
    : undefined;
