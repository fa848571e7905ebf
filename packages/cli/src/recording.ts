/**
 * `--trace FILE`: the command's session recorded to FILE as JSON lines, with core's recorder
 * (`@authchart/core/record`: the session's transport, inspection events and decision trace,
 * without a secret) and @authchart/node's trace file. The recording ends with the command's
 * outcome — the typed error and what to do next, as the command reports them — when the
 * session's scope closes.
 */
import type { SessionOptions } from "@authchart/core";
import { createRecorder, type Recorder } from "@authchart/core/record";
import { openTraceFile } from "@authchart/node";
import { Cause, Effect, Exit, Option } from "effect";
import { classify, UsageError } from "./errors.js";
import { dim, line, type OutputService, sanitize } from "./output.js";

/** A file-system error's code (ENOENT, EACCES, …): its message may quote the path at length. */
const codeOf = (error: unknown): string => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "it cannot be written";
};

/**
 * A recorder writing to `path` for as long as the scope lasts; when it closes, the outcome line
 * (the scope's failure, classified as the command reports it) and the file closed.
 */
export const recordTo = (path: string, serverUrl: string, output: OutputService) =>
  Effect.acquireRelease(
    Effect.try({
      try: () => {
        const file = openTraceFile(path);
        return { file, recorder: createRecorder({ serverUrl, onLine: file.write }) };
      },
      catch: (error) =>
        new UsageError({
          reason: `cannot write the trace to ${path}: ${codeOf(error)}`,
          hint: "give --trace a file in a directory you can write to",
        }),
    }),
    ({ file, recorder }, exit) =>
      Effect.gen(function* () {
        if (Exit.isSuccess(exit)) recorder.finish();
        else if (Cause.isInterruptedOnly(exit.cause))
          recorder.finish({ _tag: "Interrupted", message: "the command was interrupted" });
        else {
          const failure = Cause.failureOption(exit.cause);
          const verdict = classify(
            Option.isSome(failure)
              ? failure.value
              : Option.getOrUndefined(Cause.dieOption(exit.cause)),
          );
          recorder.finish({ _tag: verdict.tag, message: verdict.message }, verdict.hint);
        }
        const failed = file.close();
        if (failed !== undefined)
          yield* output.note(
            line(dim(`the trace in ${sanitize(path)} is incomplete: ${codeOf(failed)}`)),
          );
      }),
  ).pipe(Effect.map(({ recorder }) => recorder));

const both =
  <A>(first: ((value: A) => void) | undefined, second: (value: A) => void) =>
  (value: A) => {
    first?.(value);
    second(value);
  };

/** The session's options with the recorder on its transport, its inspection and its trace. */
export const withRecording = (
  options: SessionOptions,
  recorder: Recorder | undefined,
): SessionOptions =>
  recorder === undefined
    ? options
    : {
        ...options,
        fetch: recorder.fetch(options.fetch),
        inspect: both(options.inspect, recorder.inspect),
        onTrace: both(options.onTrace, recorder.onTrace),
      };
