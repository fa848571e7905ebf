/**
 * `authchart trace FILE`: a flow recorded with `--trace FILE` (or core's createRecorder), read
 * back as a timeline in the terminal — state by state, each decision with its reason, each
 * request with its status, the failure named with what to do next. `--html OUT` writes the
 * report page (trace-html.ts); `--json` prints the timeline as one document.
 *
 * The file is decoded line by line with the recording's Schema (`@authchart/core/record`): a line
 * that is not one is a usage error naming the line, never skipped. Recorded text came from
 * servers: on a terminal it is shown without control or bidi characters, as every command does.
 * The exit code is the command's (0: the file was read), not the recorded flow's.
 */
import { readTrace, type TimelineEntry, timelineOf } from "@authchart/core/record";
import { Args, Command, Options } from "@effect/cli";
import * as FileSystem from "@effect/platform/FileSystem";
import { Effect, Either, Option } from "effect";
import { runCommand } from "../command.js";
import { classify, UsageError } from "../errors.js";
import * as Shared from "../options.js";
import {
  bold,
  cyan,
  dim,
  green,
  type Line,
  line,
  Output,
  type OutputService,
  red,
  sanitize,
  yellow,
} from "../output.js";
import { renderTraceHtml, type Verdict, verdictOf } from "./trace-html.js";

const file = Args.text({ name: "file" }).pipe(
  Args.withDescription("A recording written by --trace FILE (JSON lines, authchart.trace/1)."),
);

const html = Options.file("html").pipe(
  Options.withDescription(
    "Also write the report as one self-contained HTML page to this file: the statecharts with this run's path, the HTTP exchanges by phase, the failed step (works offline: no script, nothing loaded).",
  ),
  Options.optional,
);

/** Larger than any recording of a command; a bound on what is read into memory. */
const MAX_BYTES = 64 * 1024 * 1024;

const readRecording = (path: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem;
    const unreadable = (why: string) =>
      new UsageError({
        reason: `cannot read the trace ${path}: ${why}`,
        hint: "give the file that --trace FILE wrote",
      });
    const info = yield* fs
      .stat(path)
      .pipe(
        Effect.mapError((error) =>
          unreadable(error._tag === "SystemError" ? error.reason : "it cannot be read"),
        ),
      );
    if (info.type !== "File") return yield* unreadable("it is not a file");
    if (Number(info.size) > MAX_BYTES)
      return yield* unreadable(`it is larger than ${MAX_BYTES / 1024 / 1024} MiB`);
    const text = yield* fs
      .readFileString(path)
      .pipe(Effect.mapError(() => unreadable("it cannot be read as UTF-8 text")));
    const lines = readTrace(text);
    if (Either.isLeft(lines))
      return yield* new UsageError({
        reason: `${path}: ${lines.left.message}`,
        hint: "give the file that --trace FILE wrote (one JSON document per line, the first with schema authchart.trace/1)",
      });
    return lines.right;
  });

const hintFor = (error: { readonly tag: string; readonly message: string }) =>
  classify({ _tag: error.tag, message: error.message }).hint;

const at = (from: number, time: string) =>
  dim(`${`+${((Date.parse(time) - from) / 1000).toFixed(3)}`.padStart(8)} s  `);

const entryLine = (
  entry: TimelineEntry,
  from: number,
  safe: (s: string) => string,
): Line | undefined => {
  switch (entry.kind) {
    case "start":
      return undefined;
    case "state":
      return line(
        at(from, entry.time),
        cyan(safe(entry.machine).padEnd(20)),
        bold(safe(entry.state)),
      );
    case "decision":
      return line(
        at(from, entry.line.time),
        dim("· "),
        safe(entry.line.decision).padEnd(18),
        " ",
        safe(entry.line.reason),
      );
    case "http": {
      const x = entry.line;
      const answer =
        x.status === undefined
          ? red(
              safe(
                x.failure === undefined ? "no answer" : `${x.failure.tag}: ${x.failure.message}`,
              ),
            )
          : x.status < 300
            ? green(String(x.status))
            : x.status < 400
              ? yellow(String(x.status))
              : red(String(x.status));
      return line(
        at(from, x.time),
        dim("→ "),
        safe(x.phase).padEnd(18),
        " ",
        `${safe(x.method)} ${safe(x.url)} `,
        answer,
        dim(` ${x.durationMillis} ms`),
      );
    }
    case "failure":
      return line(
        at(from, entry.time),
        red("✗ "),
        `${safe(entry.machine)} failed at ${safe(entry.step)}`,
        entry.error === undefined ? "" : `: ${safe(entry.error.tag)} ${safe(entry.error.message)}`,
      );
    case "outcome":
      return line(
        at(from, entry.line.time),
        entry.line.ok ? green("✓ the work succeeded") : red("✗ the work failed"),
      );
  }
};

const sayVerdict = (output: OutputService, verdict: Verdict, safe: (s: string) => string) =>
  Effect.gen(function* () {
    yield* output.say(line(""));
    if (verdict.ok) return yield* output.say(line(green("the flow succeeded")));
    yield* output.say(
      line(
        red("the flow failed"),
        ...(verdict.step === undefined
          ? []
          : [` in ${safe(verdict.step.machine)} at `, bold(safe(verdict.step.state))]),
      ),
    );
    if (verdict.error !== undefined)
      yield* output.say(
        line("  error ", bold(safe(verdict.error.tag)), " ", safe(verdict.error.message)),
      );
    if (verdict.hint !== undefined) yield* output.say(line(dim("  next: "), safe(verdict.hint)));
  });

const writeHtml = (path: string, page: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem;
    yield* fs.writeFileString(path, page).pipe(
      Effect.mapError(
        (error) =>
          new UsageError({
            reason: `cannot write the report to ${path}: ${error.message}`,
            hint: "give --html a file in a directory you can write to",
          }),
      ),
    );
  });

export const trace = Command.make("trace", { file, html, json: Shared.json }, (args) =>
  runCommand(
    args,
    Effect.gen(function* () {
      const output = yield* Output;
      const lines = yield* readRecording(args.file);
      const verdict = verdictOf(lines, hintFor);
      const out = Option.getOrUndefined(args.html);
      if (out !== undefined) {
        yield* writeHtml(out, renderTraceHtml({ lines, verdict, source: args.file }));
        yield* output.note(line(dim(`wrote the report to ${sanitize(out)}`)));
      }
      const timeline = timelineOf(lines);
      const start = lines[0];
      const serverUrl = start?.kind === "start" ? start.serverUrl : undefined;
      const requests = lines.filter((l) => l.kind === "http").length;
      if (output.json)
        return yield* output.document({
          ok: true,
          schema: start?.kind === "start" ? start.schema : undefined,
          server: serverUrl ?? null,
          requests,
          verdict,
          timeline,
        });
      const safe = output.untrusted;
      const from = start === undefined ? 0 : Date.parse(start.time);
      yield* output.say(
        line(
          bold("trace"),
          serverUrl === undefined ? "" : ` of ${safe(serverUrl)}`,
          dim(
            ` · recorded ${start?.time ?? "?"} · ${requests} request${requests === 1 ? "" : "s"}`,
          ),
        ),
      );
      for (const entry of timeline) {
        const l = entryLine(entry, from, safe);
        if (l !== undefined) yield* output.say(l);
      }
      yield* sayVerdict(output, verdict, safe);
    }),
  ),
).pipe(
  Command.withDescription(
    "Read a flow recorded with --trace FILE: the timeline state by state, each decision with its reason, each request with its status, the failure named; --html OUT writes a self-contained report page.",
  ),
);
