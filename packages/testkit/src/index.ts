/**
 * @authchart/testkit — real servers on loopback for testing an MCP OAuth client in-process:
 * an oidc-provider authorization server, an MCP SDK server protected by it, a headless user that
 * answers the authorization prompts over HTTP, a request log, and a scripted server for bad input.
 */
export {
  DEBIAN_SETUP_TIMEOUT_MILLIS,
  type DebianProgram,
  type DebianProgramAvailability,
  ensureDebianProgram,
} from "./debian-package.js";
export { DEFAULT_TOOLS } from "./mcp-server.js";
export {
  type MetadataForm,
  type Misconfiguration,
  type MisconfiguredServer,
  startMisconfiguredServer,
} from "./misconfigured.js";
export { startScriptedServer } from "./scripted-server.js";
export { startTestkit } from "./testkit.js";
export type {
  AuthServerDpopOptions,
  AuthServerOptions,
  DeviceFlowOptions,
  HeadlessUser,
  HeadlessUserPolicy,
  JwtBearerOptions,
  McpDpopOptions,
  McpServerOptions,
  RequestKind,
  RequestLogEntry,
  ScriptedRequest,
  ScriptedResponse,
  ScriptedRoute,
  ScriptedServer,
  Testkit,
  TestkitOptions,
  ToolDefinition,
} from "./types.js";
