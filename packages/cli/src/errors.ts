/**
 * How a failure ends the command: its exit code and a sentence on what to do next. Every
 * expected failure is a tagged error (authchart's AuthchartError, the file store's, the CLI's own
 * below) and ends with its message and that hint — never a stack trace. Only a defect (a bug)
 * is "unexpected", and even then the text is a description without secrets (core's
 * describeDefect), the stack only with AUTHCHART_DEBUG=1.
 *
 * The codes are documented in `authchart --help` (exitCodeTable) and tested.
 */
import { Protocol } from "@authchart/core";
import { describeDefect } from "@authchart/core/internals";
import { Schema } from "effect";

export const ExitCode = {
  ok: 0,
  /** A bug or an unforeseen failure. */
  unexpected: 1,
  /** Bad arguments or options (also @effect/cli's own validation errors). */
  usage: 2,
  /** Authorization is needed, was declined, or could not be completed. */
  authorization: 3,
  /** The MCP server or the authorization server failed or broke the protocol. */
  server: 4,
  /** The credential store or its lock. */
  store: 5,
  /** `authchart probe`: the probe ran, and the server's authorization has pitfalls. */
  pitfalls: 6,
  /** Interrupted (Ctrl-C): 128 + SIGINT. */
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** What each exit code means, for `--help` (and the tests). */
export const exitCodeTable: ReadonlyArray<readonly [ExitCode, string]> = [
  [ExitCode.ok, "success"],
  [ExitCode.unexpected, "unexpected failure (a bug: please report it)"],
  [ExitCode.usage, "usage: a bad argument, option or environment variable"],
  [
    ExitCode.authorization,
    "authorization needed, declined or not completed (e.g. run `authchart login <url>`)",
  ],
  [ExitCode.server, "the MCP server or its authorization server failed or broke the protocol"],
  [ExitCode.store, "the credential store or its lock failed"],
  [ExitCode.pitfalls, "probe: the server's authorization has pitfalls clients trip on (listed)"],
  [ExitCode.interrupted, "interrupted"],
];

// ------------------------------------------------------------------------- the CLI's own errors

/** An argument, option or environment variable the command cannot use. */
export class UsageError extends Schema.TaggedError<UsageError>()("UsageError", {
  reason: Schema.String,
  hint: Schema.String,
}) {
  override get message() {
    return this.reason;
  }
}

/** `status <url>` (or a command that needs a session) for a server with no saved session. */
export class NotLoggedIn extends Schema.TaggedError<NotLoggedIn>()("NotLoggedIn", {
  serverUrl: Schema.String,
}) {
  override get message() {
    return `no saved session for ${this.serverUrl}`;
  }
}

/** The tool ran and reported an error (MCP CallToolResult `isError`). */
export class ToolFailed extends Schema.TaggedError<ToolFailed>()("ToolFailed", {
  tool: Schema.String,
  reason: Schema.String,
}) {
  override get message() {
    return `the tool ${this.tool} reported an error: ${this.reason}`;
  }
}

/**
 * The server has no tool of that name: not in its tool list (or, when the list cannot be had, its
 * error says so). SDK 1.x servers answer an unknown tool as a tool error (`isError`), others as a
 * JSON-RPC error; either way it is the name the user gave.
 */
export class UnknownTool extends Schema.TaggedError<UnknownTool>()("UnknownTool", {
  tool: Schema.String,
  serverUrl: Schema.String,
}) {
  override get message() {
    return `${this.serverUrl} has no tool named ${this.tool}`;
  }
}

/**
 * Discovery found nothing of OAuth at the URL — no protected-resource metadata (RFC 9728), no
 * authorization server metadata (RFC 8414) — so core fell back to MCP 2025-03-26's default
 * endpoints on the server's origin, and those failed too: most likely the URL is not an
 * OAuth-protected MCP server (a web page, a server that needs no authorization, a wrong path).
 * `reason` is the failure's own message.
 */
export class NotOAuthProtected extends Schema.TaggedError<NotOAuthProtected>()(
  "NotOAuthProtected",
  {
    serverUrl: Schema.String,
    challenged: Schema.Boolean,
    reason: Schema.String,
  },
) {
  override get message() {
    return `${this.serverUrl} does not look like an OAuth-protected MCP server: it publishes no protected-resource metadata (RFC 9728) and its origin no authorization server metadata (RFC 8414)${this.challenged ? "" : ", and no 401 challenge pointed to any"}; the MCP 2025-03-26 default endpoints tried instead failed: ${this.reason}`;
  }
}

/** The MCP server answered a JSON-RPC error (unknown tool, invalid arguments, ...). */
export class McpRequestFailed extends Schema.TaggedError<McpRequestFailed>()("McpRequestFailed", {
  operation: Schema.String,
  code: Schema.optional(Schema.Number),
  reason: Schema.String,
}) {
  override get message() {
    return `${this.operation} failed${this.code === undefined ? "" : ` (${this.code})`}: ${this.reason}`;
  }
}

/** The demo did not go the way it is scripted (a regression, not a user's mistake). */
export class DemoDiverged extends Schema.TaggedError<DemoDiverged>()("DemoDiverged", {
  scene: Schema.String,
  reason: Schema.String,
}) {
  override get message() {
    return `the demo's scene "${this.scene}" went otherwise than scripted: ${this.reason}`;
  }
}

// ------------------------------------------------------------------------- classification

export interface Verdict {
  readonly code: ExitCode;
  /** The error's tag, or "Defect" for something untyped. */
  readonly tag: string;
  readonly message: string;
  /** What to do next. */
  readonly hint: string;
}

const LOGIN_AGAIN = "run `authchart login <url>` to authorize again";
const SERVER_SIDE =
  "the server's configuration is at fault; tell its operator, or check the URL (`authchart status` shows what is saved)";
const RETRY_LATER = "check the network and the server, then run the command again";

/** What the command was given, for the failures whose fault depends on it. */
export interface ClassifyContext {
  /** The server URL the user typed (the command's `<url>` argument), if the command has one. */
  readonly url?: string | undefined;
}

const sameResource = (a: string, b: string) => {
  const left = Protocol.canonicalResourceUri(a);
  const right = Protocol.canonicalResourceUri(b);
  return left.ok && right.ok ? left.uri === right.uri : a === b;
};

/**
 * Whose URL an InsecureUrl refused. Core refuses the server URL it was given before any request
 * (createSession), and every URL a server named afterwards (the PRM's authorization server, the
 * AS metadata's endpoints, a redirect). The typed URL passed the first check or nothing was sent;
 * a refused URL that is not it (nor the same resource: the URL it was saved under) came from a
 * server's documents: the server's configuration is at fault, not the user's command. Without a
 * typed URL to compare with, the user's (as for any other command line failure).
 */
const refusedTypedUrl = (error: unknown, typed: string | undefined): boolean => {
  if (typed === undefined) return true;
  const url = (error as { readonly url?: unknown }).url;
  return typeof url === "string" && sameResource(url, typed);
};

/**
 * A tagged error's exit code and hint; anything untagged is a defect (exit 1). `context.url`, the
 * server URL the command was given, tells a URL the user typed from one a server named.
 */
export const classify = (error: unknown, context: ClassifyContext = {}): Verdict => {
  if (typeof error !== "object" || error === null || !("_tag" in error)) {
    return {
      code: ExitCode.unexpected,
      tag: "Defect",
      message: describeDefect(error),
      hint: "this is a bug in authchart; run again with AUTHCHART_DEBUG=1 and report the output",
    };
  }
  const tagged = error as { readonly _tag: string; readonly message?: unknown };
  const message = typeof tagged.message === "string" ? tagged.message : tagged._tag;
  const verdict = (code: ExitCode, hint: string): Verdict => ({
    code,
    tag: tagged._tag,
    message,
    hint,
  });
  switch (tagged._tag) {
    case "UsageError":
      return verdict(ExitCode.usage, (error as UsageError).hint);
    case "InvalidResourceUri":
      return verdict(
        ExitCode.usage,
        "give the MCP server's full https URL, e.g. https://mcp.example.com/mcp",
      );
    case "InsecureUrl":
      return refusedTypedUrl(error, context.url)
        ? verdict(ExitCode.usage, "use https (plain http is accepted on loopback only)")
        : verdict(
            ExitCode.server,
            "the server's configuration is at fault: its metadata names an address this client will not contact (https only; http and private addresses only for a server that is itself local); tell its operator",
          );
    case "UnknownTool":
      return verdict(
        ExitCode.usage,
        "check the tool's name: `authchart tools <url>` lists the server's tools",
      );
    case "InvalidClientConfiguration":
    case "InvalidRedirectUri":
      return verdict(
        ExitCode.usage,
        "check --client-id, --issuer, --client-metadata-url and --port",
      );

    case "NotLoggedIn":
      return verdict(ExitCode.authorization, "run `authchart login <url>` first");
    case "InteractionRequired":
      return verdict(
        ExitCode.authorization,
        "this needs the user in a browser: run `authchart login <url>` (with the scopes it needs), then this command again",
      );
    case "ScopeDeclined":
      return verdict(
        ExitCode.authorization,
        "the scope was not granted; if that was a mistake, run `authchart login <url> --scope <scope>` and grant it",
      );
    case "AuthorizationDenied":
      return verdict(
        ExitCode.authorization,
        "the authorization server refused (see the error); run `authchart login <url>` to try again, with other --scope values if it names invalid_scope",
      );
    case "AuthorizationLoop":
      return verdict(
        ExitCode.authorization,
        "the server keeps asking for authorization it does not accept; check the scopes the tool needs, or ask the server's operator",
      );
    case "AuthorizationTimeout":
    case "FlowCancelled":
    case "UserAgentFailed":
    case "PasteEnded":
    case "CallbackTimeout":
    case "LoopbackPortInUse":
    case "LoopbackListenFailed":
    case "BrowserLaunchFailed":
    case "BrowserLaunchRefused":
      return verdict(
        ExitCode.authorization,
        "run the command again and finish the sign-in (with --headless, paste the address the browser ends on); --port chooses another redirect port if this one is taken",
      );
    case "StateMismatch":
    case "IssMismatch":
    case "InvalidCallback":
      return verdict(
        ExitCode.authorization,
        "the browser brought back an address from another sign-in; run the command again and use only the newest sign-in page",
      );
    case "DeviceCodeExpired":
    case "DeviceAuthorizationDenied":
    case "AssertionUnavailable":
    case "TokenRejected":
    case "ClientSecretExpired":
    case "AssertionRejected":
      return verdict(ExitCode.authorization, LOGIN_AGAIN);

    case "TransportError":
    case "RequestTimeout":
      return verdict(ExitCode.server, RETRY_LATER);
    case "TokenEndpointFailed":
    case "UnexpectedStatus":
      return verdict(ExitCode.server, RETRY_LATER);
    case "AccessForbidden":
      return verdict(
        ExitCode.server,
        "the server refuses this request whatever the scopes; ask its operator for access",
      );
    case "ToolFailed":
      return verdict(ExitCode.server, "the tool ran and failed: check its arguments");
    case "NotOAuthProtected":
      return verdict(
        ExitCode.server,
        "check the URL: it must be the MCP server's endpoint (often ending in /mcp); a server that needs no authorization needs no login (`authchart tools <url>` works without one)",
      );
    case "McpConnectFailed":
      return verdict(
        ExitCode.server,
        "check that the URL is the server's MCP endpoint (often ending in /mcp) and that it is up",
      );
    case "McpRequestFailed":
      return verdict(
        ExitCode.server,
        "check the tool's name and arguments (`authchart tools <url>` lists them)",
      );
    case "UnexpectedRedirect":
    case "ResponseTooLarge":
    case "UnexpectedContentType":
    case "MalformedJson":
    case "InvalidDocument":
    case "ResourceMetadataNotFound":
    case "ResourceMismatch":
    case "NoAuthorizationServer":
    case "AuthServerMetadataNotFound":
    case "IssuerMismatch":
    case "PkceUnsupported":
    case "RegistrationRejected":
    case "RegistrationUnavailable":
    case "InvalidChallenge":
    case "RevocationFailed":
    case "DpopUnsupported":
    case "DpopBindingMismatch":
    case "DeviceAuthorizationUnsupported":
    case "DeviceAuthorizationRejected":
      return verdict(
        ExitCode.server,
        tagged._tag === "RegistrationUnavailable"
          ? "register a client with the server's operator and pass --client-id (and --client-secret-env), or --client-metadata-url"
          : SERVER_SIDE,
      );

    case "StoreFailed":
    case "KeychainUnavailable":
      return verdict(
        ExitCode.store,
        "check the configuration directory (--config-dir or AUTHCHART_CONFIG_DIR): it must belong to you and be private; move a damaged file aside to start over",
      );
    case "LockTimeout":
    case "LockFailed":
      return verdict(
        ExitCode.store,
        "another authchart process holds the session's lock; wait for it to finish, then run the command again",
      );

    case "DemoDiverged":
    case "StepDefect":
    case "DpopKeyFailed":
      return verdict(
        ExitCode.unexpected,
        "this is a bug in authchart; run again with AUTHCHART_DEBUG=1 and report the output",
      );
    default:
      return verdict(ExitCode.unexpected, "run again with AUTHCHART_DEBUG=1 and report the output");
  }
};
