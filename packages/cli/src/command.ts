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

const report = (output: OutputService, error: unknown) =>
  Effect.gen(function* () {
    const verdict = classify(error);
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

/** Runs a command's body with its Output; any failure is reported and becomes CommandFailed. */
export const runCommand = <R>(
  options: { readonly json: boolean },
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
        const code = yield* report(output, error);
        return yield* new CommandFailed({ code });
      }),
    ),
    // A signal interrupts the whole program (nothing above can catch it): say so on the way out.
    Effect.onInterrupt(() => output.note(line(dim("interrupted")))),
    Effect.ensuring(Effect.sync(() => output.spinner.stop())),
  ) as Effect.Effect<void, CommandFailed, Exclude<R, Output>>;
};
