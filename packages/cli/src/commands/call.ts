/**
 * `authchart call <url> <tool> [json]`: call one tool of an MCP server through the session —
 * authorizing first if there is no token, refreshing an expired one, and stepping up when the
 * server answers 403 insufficient_scope (the browser opens for the added scope). The tool's
 * content goes to stdout; with --json, the whole CallToolResult.
 */
import { Args, Command } from "@effect/cli";
import { Effect, Option } from "effect";
import { runCommand } from "../command.js";
import { ToolFailed, UnknownTool, UsageError } from "../errors.js";
import { startInspector } from "../inspect.js";
import { connectMcp, mcpAttempt } from "../mcp.js";
import * as Shared from "../options.js";
import {
  inertJson,
  type Line,
  line,
  Output,
  type OutputService,
  sanitize,
  text,
} from "../output.js";
import { openServerSession } from "../session.js";

const tool = Args.text({ name: "tool" }).pipe(Args.withDescription("The tool's name."));
const input = Args.text({ name: "json" }).pipe(
  Args.withDescription('The tool\'s arguments as a JSON object, e.g. \'{"text": "hello"}\'.'),
  Args.optional,
);

const parseArguments = (value: Option.Option<string>) =>
  Option.match(value, {
    onNone: () => Effect.succeed({} as Record<string, unknown>),
    onSome: (json) =>
      Effect.try({
        try: () => JSON.parse(json) as unknown,
        catch: () => undefined,
      }).pipe(
        Effect.flatMap((parsed) =>
          typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
            ? Effect.succeed(parsed as Record<string, unknown>)
            : Effect.fail(undefined),
        ),
        Effect.mapError(
          () =>
            new UsageError({
              reason: "the tool's arguments are not a JSON object",
              hint: `quote them for the shell, e.g. authchart call <url> <tool> '{"text": "hello"}'`,
            }),
        ),
      ),
  });

/** What a server's error says when it has no such tool (SDK 1.x: "Tool <name> not found"). */
const UNKNOWN_TOOL_TEXT = /\bunknown tool\b|\btool\b.*\bnot found\b|\bno such tool\b/i;
/** How many pages of tools/list are read to find a tool (a server may paginate). */
const TOOL_LIST_PAGES = 20;

type McpClient = Effect.Effect.Success<ReturnType<typeof connectMcp>>;

/**
 * Whether the server has a tool named `name`: by its tool list, every page of it; undefined when
 * the list cannot be had or is longer than TOOL_LIST_PAGES pages.
 */
const hasTool = (client: McpClient, name: string) =>
  Effect.gen(function* () {
    let cursor: string | undefined;
    for (let page = 0; page < TOOL_LIST_PAGES; page++) {
      const listed = yield* mcpAttempt("listing the tools", () =>
        client.listTools(cursor === undefined ? undefined : { cursor }),
      );
      if (listed.tools.some((t) => t.name === name)) return true as boolean | undefined;
      cursor = listed.nextCursor;
      if (cursor === undefined) return false;
    }
    return undefined;
  }).pipe(Effect.orElseSucceed(() => undefined));

/**
 * A call that failed (a tool error, or a JSON-RPC error) because the tool does not exist: the
 * server's tool list says so, or, without a list, the error's own words.
 */
const isUnknownTool = (client: McpClient, name: string, reason: string) =>
  Effect.map(hasTool(client, name), (has) =>
    has === undefined ? UNKNOWN_TOOL_TEXT.test(reason) : !has,
  );

interface ContentItem {
  readonly type: string;
  readonly text?: string;
  readonly mimeType?: string;
  readonly data?: string;
  readonly resource?: { readonly uri?: string; readonly text?: string };
}

/**
 * One content item for a person: its text (sanitized on a terminal, whatever the colour setting;
 * as is in a pipe), other kinds described.
 */
const contentLine = (item: ContentItem, output: OutputService): Line => {
  const safe = output.untrusted;
  switch (item.type) {
    case "text":
      return text(safe(item.text ?? ""));
    case "image":
    case "audio":
      return text(
        `[${item.type} ${safe(item.mimeType ?? "")}, ${Math.floor(((item.data ?? "").length * 3) / 4)} bytes]`,
      );
    case "resource":
      return text(safe(item.resource?.text ?? `[resource ${item.resource?.uri ?? ""}]`));
    case "resource_link":
      return text(`[resource link]`);
    default:
      return text(`[${safe(item.type)}]`);
  }
};

export const call = Command.make(
  "call",
  {
    url: Shared.serverUrl,
    tool,
    input,
    headless: Shared.headless,
    nonInteractive: Shared.nonInteractive,
    decisions: Shared.decisions,
    trace: Shared.trace,
    inspect: Shared.inspect,
    json: Shared.json,
    configDir: Shared.configDir,
  },
  (args) =>
    runCommand(
      args,
      Effect.scoped(
        Effect.gen(function* () {
          const output = yield* Output;
          const toolArguments = yield* parseArguments(args.input);
          const inspect = yield* startInspector(args.inspect, output);
          const { session, serverUrl, explain } = yield* openServerSession({
            url: args.url,
            configDir: args.configDir,
            headless: Option.getOrUndefined(args.headless),
            interactive: !args.nonInteractive,
            trace: args.decisions,
            traceFile: Option.getOrUndefined(args.trace),
            output,
            inspect,
          });
          const unknownTool = new UnknownTool({ tool: args.tool, serverUrl });
          const result = yield* output.waiting(
            `calling ${args.tool} on ${serverUrl}`,
            Effect.gen(function* () {
              const client = yield* connectMcp(session, serverUrl);
              const result = yield* mcpAttempt(`calling the tool ${args.tool}`, () =>
                client.callTool({ name: args.tool, arguments: toolArguments }),
              ).pipe(
                // A server answering an unknown tool with a JSON-RPC error (MCP: -32602).
                Effect.catchTag("McpRequestFailed", (error) =>
                  Effect.flatMap(
                    isUnknownTool(client, args.tool, error.reason),
                    (unknown): Effect.Effect<never, UnknownTool | typeof error> =>
                      Effect.fail(unknown ? unknownTool : error),
                  ),
                ),
              );
              if (result.isError !== true) return result;
              const content = (
                Array.isArray(result.content) ? result.content : []
              ) as ContentItem[];
              const reason = content
                .map((item) => (item.type === "text" ? (item.text ?? "") : `[${item.type}]`))
                .join(" ")
                .slice(0, 500);
              // SDK 1.x servers answer an unknown tool as a tool error: tell it from one that ran.
              if (yield* isUnknownTool(client, args.tool, reason)) return yield* unknownTool;
              return yield* new ToolFailed({ tool: args.tool, reason: sanitize(reason) });
            }).pipe(Effect.mapError(explain)),
          );
          const content = (Array.isArray(result.content) ? result.content : []) as ContentItem[];
          if (output.json)
            return yield* output.document({ ok: true, server: serverUrl, tool: args.tool, result });
          for (const item of content) yield* output.say(contentLine(item, output));
          if (content.length === 0 && result.structuredContent !== undefined)
            yield* output.say(line(inertJson(result.structuredContent)));
        }),
      ),
    ),
).pipe(
  Command.withDescription(
    "Call a tool of an MCP server; authorizes, refreshes and steps up (403 insufficient_scope) as needed.",
  ),
);
