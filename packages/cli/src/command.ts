/**
 * What every command shares around its body: the Output for its --json flag, and the end of a
 * failure — the message and what to do next on stderr (or one JSON document on stdout with
 * --json), then the exit code. A failure leaves the body as CommandFailed, already reported.
 */
import { Cause, Effect, Option, Schema } from "effect";
import { classify, ExitCode } from "./errors.js";
import { dim, line, Output, type OutputService, red, sanitize } from "./output.js";

/** The command failed and said so; `code` is the process's exit code. */
export class CommandFailed extends Schema.TaggedError<CommandFailed>()("CommandFailed", {
  code: Schema.Number,
}) {}

/** The `<url>` the command was given: an argument, or an optional one. */
const typedUrlOf = (url: unknown): string | undefined => {
  if (typeof url === "string") return url;
  if (Option.isOption(url)) {
    const value = Option.getOrUndefined(url);
    return typeof value === "string" ? value : undefined;
  }
  return undefined;
};

const report = (output: OutputService, error: unknown, typedUrl: string | undefined) =>
  Effect.gen(function* () {
    const verdict = classify(error, { url: typedUrl });
    if (output.json) {
      yield* output.document({
        ok: false,
        error: {
          tag: verdict.tag,
          message: verdict.message,
          hint: verdict.hint,
          exitCode: verdict.code,
        },
      });
    } else {
      yield* output.note(line(red("error"), ` ${sanitize(verdict.message)}`));
      yield* output.note(line(dim("  next: "), verdict.hint));
    }
    return verdict.code;
  });

/**
 * Runs a command's body with its Output; any failure is reported and becomes CommandFailed.
 * `options` are the command's arguments: `json`, and `url` if it has one (a failure's fault may
 * depend on it: classify).
 */
export const runCommand = <R>(
  options: { readonly json: boolean; readonly url?: unknown },
  body: Effect.Effect<void, unknown, R | Output>,
): Effect.Effect<void, CommandFailed, Exclude<R, Output>> => {
  const output = Output.make(options);
  return body.pipe(
    Effect.provideService(Output, output),
    Effect.catchAllCause((cause) =>
      Effect.gen(function* () {
        output.spinner.stop();
        if (Cause.isInterruptedOnly(cause)) {
          yield* output.note(line(dim("interrupted")));
          return yield* new CommandFailed({ code: ExitCode.interrupted });
        }
        const failure = Cause.failureOption(cause);
        const error = Option.isSome(failure)
          ? failure.value
          : Option.getOrUndefined(Cause.dieOption(cause));
        if (process.env.AUTHCHART_DEBUG === "1" && Option.isNone(failure))
          yield* output.note(line(dim(Cause.pretty(cause))));
        const code = yield* report(output, error, typedUrlOf(options.url));
        return yield* new CommandFailed({ code });
      }),
    ),
    // A signal interrupts the whole program (nothing above can catch it): say so on the way out.
    Effect.onInterrupt(() => output.note(line(dim("interrupted")))),
    Effect.ensuring(Effect.sync(() => output.spinner.stop())),
  ) as Effect.Effect<void, CommandFailed, Exclude<R, Output>>;
};
