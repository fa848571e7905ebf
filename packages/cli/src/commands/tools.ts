/** `authchart tools <url>`: the tools an MCP server offers, through the session. */
import { Command } from "@effect/cli";
import { Effect, Option } from "effect";
import { runCommand } from "../command.js";
import { startInspector } from "../inspect.js";
import { connectMcp, mcpAttempt } from "../mcp.js";
import * as Shared from "../options.js";
import { bold, dim, line, Output, sanitize } from "../output.js";
import { openServerSession } from "../session.js";

export const tools = Command.make(
  "tools",
  {
    url: Shared.serverUrl,
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
          const listed = yield* output.waiting(
            `listing the tools of ${serverUrl}`,
            Effect.gen(function* () {
              const client = yield* connectMcp(session, serverUrl);
              return yield* mcpAttempt("listing the tools", () => client.listTools());
            }).pipe(Effect.mapError(explain)),
          );
          if (output.json)
            return yield* output.document({ ok: true, server: serverUrl, tools: listed.tools });
          if (listed.tools.length === 0) return yield* output.say(line(dim("no tools")));
          const width = Math.min(30, Math.max(...listed.tools.map((t) => t.name.length)));
          for (const t of listed.tools) {
            const description = (t.description ?? "").split("\n")[0] ?? "";
            yield* output.say(
              line(bold(sanitize(t.name).padEnd(width)), "  ", dim(sanitize(description))),
            );
          }
        }),
      ),
    ),
).pipe(Command.withDescription("List the tools of an MCP server (authorizing as needed)."));
