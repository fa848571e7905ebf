/**
 * The `authchart` command: the root command and its subcommands (one module each in commands/),
 * the help text (with the exit codes and the environment), and the process's end — the exit code
 * of the command, 2 for what @effect/cli refuses to parse, 1 for a defect (without a stack trace
 * unless AUTHCHART_DEBUG=1).
 */
import { Command, HelpDoc, ValidationError } from "@effect/cli";
import * as Span from "@effect/cli/HelpDoc/Span";
import * as NodeContext from "@effect/platform-node/NodeContext";
import { Cause, Console, Effect, Exit, Option } from "effect";
import { CommandFailed } from "./command.js";
import { call } from "./commands/call.js";
import { demo } from "./commands/demo.js";
import { diagram } from "./commands/diagram.js";
import { login } from "./commands/login.js";
import { logout } from "./commands/logout.js";
import { probe } from "./commands/probe.js";
import { status } from "./commands/status.js";
import { tools } from "./commands/tools.js";
import { trace } from "./commands/trace.js";
import { classify, ExitCode, exitCodeTable } from "./errors.js";
import { colourFor, stripAnsi } from "./output.js";
import { version } from "./version.js";

const commands = [login, status, logout, call, tools, probe, trace, diagram, demo] as const;

const root = Command.make("authchart", {}, () =>
  Effect.gen(function* () {
    yield* Console.error(
      [
        "authchart: the OAuth lifecycle of MCP clients as a statechart.",
        "",
        "  authchart demo                      watch the whole lifecycle on loopback",
        "  authchart login <url>               log in to an MCP server",
        "  authchart status [url]              the saved sessions",
        "  authchart call <url> <tool> [json]  call a tool",
        "  authchart tools <url>               list the tools",
        "  authchart logout <url>              revoke and forget",
        "  authchart probe <url>               check a server's authorization, without signing in",
        "  authchart trace <file>              read a flow recorded with --trace <file> (--html)",
        "  authchart diagram                   the statechart (Mermaid, or --json)",
        "",
        "authchart --help (or authchart <command> --help) for options and exit codes.",
      ].join("\n"),
    );
    return yield* new CommandFailed({ code: ExitCode.usage });
  }),
).pipe(
  Command.withDescription("The OAuth authorization lifecycle of MCP clients, as a statechart."),
  Command.withSubcommands(commands),
);

const footer = HelpDoc.sequence(
  HelpDoc.h1("EXIT CODES"),
  HelpDoc.sequence(
    HelpDoc.descriptionList(
      exitCodeTable.map(
        ([code, meaning]) =>
          [Span.text(String(code)), HelpDoc.p(meaning)] as [Span.Span, HelpDoc.HelpDoc],
      ) as [[Span.Span, HelpDoc.HelpDoc], ...[Span.Span, HelpDoc.HelpDoc][]],
    ),
    HelpDoc.sequence(
      HelpDoc.h1("ENVIRONMENT"),
      HelpDoc.descriptionList([
        [
          Span.text("AUTHCHART_CONFIG_DIR"),
          HelpDoc.p("where sessions and tokens are kept, unless --config-dir says otherwise"),
        ],
        [Span.text("NO_COLOR"), HelpDoc.p("no colour, even on a terminal (FORCE_COLOR: colour)")],
        [Span.text("AUTHCHART_DEBUG=1"), HelpDoc.p("the stack trace of an unexpected failure")],
      ]),
    ),
  ),
);

const cli = Command.run(root, {
  name: "authchart",
  version,
  summary: Span.text("the OAuth lifecycle of MCP clients, as a statechart"),
  footer,
});

/**
 * @effect/cli writes help and parse errors through the Console with ANSI styles; a stream that is
 * not a terminal (or NO_COLOR) gets them plain.
 */
const plainWhereNeeded = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.consoleWith((console) => {
    const stdoutColour = colourFor(process.stdout);
    const stderrColour = colourFor(process.stderr);
    if (stdoutColour && stderrColour) return effect;
    const plain =
      (colour: boolean, write: (...args: ReadonlyArray<unknown>) => Effect.Effect<void>) =>
      (...args: ReadonlyArray<unknown>) =>
        write(...(colour ? args : args.map((a) => (typeof a === "string" ? stripAnsi(a) : a))));
    return Effect.withConsole(effect, {
      ...console,
      log: plain(stdoutColour, console.log),
      info: plain(stdoutColour, console.info),
      error: plain(stderrColour, console.error),
      warn: plain(stderrColour, console.warn),
    });
  });

/** Runs the command line; succeeds with the process's exit code. */
export const main = (argv: ReadonlyArray<string>): Effect.Effect<number> =>
  cli(argv).pipe(
    plainWhereNeeded,
    Effect.as(ExitCode.ok as number),
    Effect.catchAllCause((cause) => {
      if (Cause.isInterruptedOnly(cause)) return Effect.succeed(ExitCode.interrupted as number);
      const failure = Cause.failureOption(cause);
      if (Option.isSome(failure)) {
        const error = failure.value;
        if (error instanceof CommandFailed) return Effect.succeed(error.code);
        // @effect/cli printed what it refused (and the help for --help, which exits 0).
        if (ValidationError.isValidationError(error))
          return Effect.succeed(
            ValidationError.isHelpRequested(error) ? ExitCode.ok : ExitCode.usage,
          );
      }
      const defect = Option.getOrElse(failure, () => Option.getOrUndefined(Cause.dieOption(cause)));
      const verdict = classify(defect);
      return Console.error(
        `error ${verdict.message}\n  next: ${verdict.hint}${process.env.AUTHCHART_DEBUG === "1" ? `\n${Cause.pretty(cause)}` : ""}`,
      ).pipe(Effect.as(verdict.code as number));
    }),
    Effect.provide(NodeContext.layer),
  );

/** The process's exit code: the command's, 130 when a signal interrupted it (128 + SIGINT). */
export const exitCodeOf = (exit: Exit.Exit<number, unknown>): number => {
  if (Exit.isSuccess(exit)) return exit.value;
  return Cause.isInterruptedOnly(exit.cause) ? ExitCode.interrupted : ExitCode.unexpected;
};
