/**
 * `authchart call <url> <tool> [json]`: call one tool of an MCP server through the session —
 * authorizing first if there is no token, refreshing an expired one, and stepping up when the
 * server answers 403 insufficient_scope (the browser opens for the added scope). The tool's
 * content goes to stdout; with --json, the whole CallToolResult.
 */
import { Args, Command } from "@effect/cli";
import { Effect, Option } from "effect";
import { runCommand } from "../command.js";
import { ToolFailed, UsageError } from "../errors.js";
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
    trace: Shared.trace,
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
          const { session, serverUrl } = yield* openServerSession({
            url: args.url,
            configDir: args.configDir,
            headless: Option.getOrUndefined(args.headless),
            interactive: !args.nonInteractive,
            trace: args.trace,
            output,
          });
          const result = yield* output.waiting(
            `calling ${args.tool} on ${serverUrl}`,
            Effect.gen(function* () {
              const client = yield* connectMcp(session, serverUrl);
              return yield* mcpAttempt(`calling the tool ${args.tool}`, () =>
                client.callTool({ name: args.tool, arguments: toolArguments }),
              );
            }),
          );
          const content = (Array.isArray(result.content) ? result.content : []) as ContentItem[];
          if (result.isError === true) {
            const reason = content
              .map((item) => (item.type === "text" ? (item.text ?? "") : `[${item.type}]`))
              .join(" ")
              .slice(0, 500);
            return yield* new ToolFailed({ tool: args.tool, reason: sanitize(reason) });
          }
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
