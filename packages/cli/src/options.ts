/** Options and arguments several commands share, declared once. */

import { Protocol } from "@authchart/core";
import { Args, Options } from "@effect/cli";
import { Config, Effect } from "effect";
import { UsageError } from "./errors.js";

export const json = Options.boolean("json").pipe(
  Options.withDescription("Print one JSON document on stdout (success or failure), nothing else."),
);

export const configDir = Options.text("config-dir").pipe(
  Options.withFallbackConfig(Config.string("AUTHCHART_CONFIG_DIR")),
  Options.optional,
  Options.withDescription(
    "Where sessions and tokens are kept (0700, files 0600). Default: AUTHCHART_CONFIG_DIR, else authchart in the per-user configuration directory.",
  ),
);

export const decisions = Options.boolean("decisions").pipe(
  Options.withDescription("Print each decision of the statechart, with its reason, on stderr."),
);

export const trace = Options.file("trace").pipe(
  Options.optional,
  Options.withDescription(
    "Record the flow to this file as JSON lines (authchart.trace/1): the statechart's inspection events, each decision, every HTTP exchange, with every token, secret, code and verifier left out. Read it with `authchart trace FILE` (--html OUT for a report page).",
  ),
);

export const inspect = Options.text("inspect").pipe(
  Options.optional,
  Options.withDescription(
    "Watch the flow live in the Stately inspector: \"stately\" for Stately's hosted inspector, or the ws:// URL of a WebSocket inspector (e.g. @statelyai/inspect's createInspectorServer relay). Tokens, secrets, codes and verifiers are redacted before anything leaves the process.",
  ),
);

export const headless = Options.boolean("headless").pipe(
  Options.withDescription(
    "Do not open a browser: print the sign-in address and read the address the browser ends on from stdin (the default without a display).",
  ),
  Options.optional,
);

export const nonInteractive = Options.boolean("non-interactive").pipe(
  Options.withDescription(
    "Never ask for a sign-in: use the saved tokens (refreshing them), and exit 3 when the server needs the user (for scripts and agents).",
  ),
);

export const serverUrl = Args.text({ name: "url" }).pipe(
  Args.withDescription("The MCP server's URL, e.g. https://mcp.example.com/mcp"),
);

/**
 * The server URL as typed, once it is usable as a resource identifier (RFC 8707 §2; MCP
 * "Canonical Server URI"); sessions are saved under it.
 */
export const checkServerUrl = (url: string) => {
  const canonical = Protocol.canonicalResourceUri(url);
  return canonical.ok
    ? Effect.succeed(url)
    : Effect.fail(
        new UsageError({
          reason: `"${url.slice(0, 200)}" is not a usable MCP server URL: ${canonical.reason}`,
          hint: "give the server's full URL, e.g. https://mcp.example.com/mcp",
        }),
      );
};

/** Scopes from repeated or space-separated --scope values, without duplicates. */
export const splitScopes = (values: readonly string[]): string[] => [
  ...new Set(values.flatMap((value) => value.split(/\s+/)).filter((scope) => scope !== "")),
];
