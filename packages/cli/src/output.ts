/**
 * What the command prints, and where. One rule for every command:
 *
 * - stdout carries the result: text for a person, or with `--json` one JSON document (success or
 *   failure) and nothing else, so that `authchart status --json | jq` always parses.
 * - stderr carries everything about the waiting: notes, the decision trace (`--trace`), the
 *   browser instructions, and a spinner — the spinner only when stderr is a terminal.
 * - Colour (@effect/printer-ansi) only on a terminal, per stream, and never with NO_COLOR
 *   (https://no-color.org) or TERM=dumb; FORCE_COLOR turns it on. Plain text otherwise.
 * - Text a server chose (tool output, error descriptions, tool lists, scopes) goes to a terminal
 *   without its control characters and bidirectional-text controls, whatever the colour setting
 *   (NO_COLOR and TERM=dumb change the styles, not what the terminal obeys): a server must not be
 *   able to move the cursor, retitle the window, or reorder what the user reads
 *   (https://trojansource.codes). Notes and errors are always sanitized; a tool's output is passed
 *   as is only into a pipe, where it is data. A --json document escapes them (JSON.stringify
 *   leaves C1 and bidi controls raw), which changes no value.
 */
import * as Doc from "@effect/printer/Doc";
import * as Ansi from "@effect/printer-ansi/Ansi";
import * as AnsiDoc from "@effect/printer-ansi/AnsiDoc";
import { Context, Effect, Layer } from "effect";

export type Line = AnsiDoc.AnsiDoc;

export const text = (value: string): Line => Doc.text(value);
const styled = (style: Ansi.Ansi) => (value: string) => Doc.annotate(Doc.text(value), style);
export const bold = styled(Ansi.bold);
export const dim = styled(Ansi.blackBright);
export const green = styled(Ansi.green);
export const red = styled(Ansi.red);
export const yellow = styled(Ansi.yellow);
export const cyan = styled(Ansi.cyan);
/** Segments side by side, on one line. */
export const line = (...parts: ReadonlyArray<Line | string>): Line =>
  Doc.hcat(parts.map((part) => (typeof part === "string" ? Doc.text(part) : part)));

/**
 * C0 and C1 controls other than tab and newline (ESC, BEL, CR, CSI, ...), and the Unicode
 * bidirectional controls a terminal honours: the embeddings and overrides U+202A–U+202E, the
 * isolates U+2066–U+2069 and the marks U+200E, U+200F, U+061C (Unicode TR #9; CVE-2021-42574).
 */
const UNSAFE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Untrusted text made safe for a terminal: control and bidi characters shown as `?`. */
export const sanitize = (value: string): string => value.replace(UNSAFE, "?");

/**
 * Whether text a server chose must be sanitized before it goes to `stream`: on a terminal
 * whatever the colour setting, and wherever colour is forced (FORCE_COLOR: a pager or a terminal
 * downstream). Only a plain pipe gets it as is.
 */
export const sanitizesUntrusted = (
  stream: { readonly isTTY?: boolean },
  colour: boolean,
): boolean => stream.isTTY === true || colour;

const JSON_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
/** JSON whose C1 and bidi controls are escaped (\uXXXX): the same value, inert on a terminal. */
export const inertJson = (value: unknown): string =>
  JSON.stringify(value, null, 2).replace(
    JSON_UNSAFE,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape sequences start with ESC
const ANSI_SEQUENCE = /\u001b\[[0-9;?]*[ -/]*[@-~]/g;
/** Text with its ANSI escape sequences removed (for a stream that is not a terminal). */
export const stripAnsi = (value: string): string => value.replace(ANSI_SEQUENCE, "");

type Env = Readonly<Record<string, string | undefined>>;

/** Whether a stream gets colour: a terminal, no NO_COLOR, not TERM=dumb; FORCE_COLOR wins. */
export const colourFor = (
  stream: { readonly isTTY?: boolean },
  env: Env = process.env,
): boolean => {
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== "0" && force !== "false") return true;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.TERM === "dumb") return false;
  return stream.isTTY === true;
};

export const render = (doc: Line, colour: boolean): string =>
  colour
    ? AnsiDoc.render(doc, { style: "pretty" })
    : Doc.render(Doc.unAnnotate(doc), { style: "pretty" });

/** A spinner on stderr while the command waits (the network, the browser). */
export interface Spinner {
  readonly start: (label: string) => void;
  /** A new label for a running spinner (nothing when it is not running). */
  readonly relabel: (label: string) => void;
  /** Clears it from the screen until its next frame (before another line is written). */
  readonly clear: () => void;
  readonly stop: () => void;
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

const makeSpinner = (stream: NodeJS.WriteStream, enabled: boolean, colour: boolean): Spinner => {
  let timer: ReturnType<typeof setInterval> | undefined;
  let label = "";
  let frame = 0;
  let shown = false;
  const draw = () => {
    const width = Math.max(10, (stream.columns || 80) - 4);
    const shortened = label.length > width ? `${label.slice(0, width - 1)}…` : label;
    stream.write(`\r\u001b[2K${render(cyan(FRAMES[frame] ?? ""), colour)} ${shortened}`);
    frame = (frame + 1) % FRAMES.length;
    shown = true;
  };
  const clear = () => {
    if (shown) stream.write("\r\u001b[2K");
    shown = false;
  };
  const stop = () => {
    clear();
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
  };
  const start = (next: string) => {
    if (!enabled) return;
    label = sanitize(next);
    if (timer === undefined) {
      timer = setInterval(draw, 80);
      timer.unref();
    }
    draw();
  };
  return {
    start,
    relabel: (next) => {
      if (timer !== undefined) start(next);
    },
    clear,
    stop,
  };
};

export interface OutputService {
  /** `--json`: stdout gets one JSON document and nothing else. */
  readonly json: boolean;
  readonly colour: { readonly stdout: boolean; readonly stderr: boolean };
  /**
   * Text a server chose, made fit for stdout: sanitized on a terminal (whatever NO_COLOR or
   * TERM say) or with colour, as is in a pipe (sanitizesUntrusted).
   */
  readonly untrusted: (value: string) => string;
  /** A line of the result for a person, on stdout (nothing with --json). */
  readonly say: (doc: Line) => Effect.Effect<void>;
  /** Text as is on stdout (a Mermaid chart, a tool's output; nothing with --json). */
  readonly print: (value: string) => Effect.Effect<void>;
  /** A note about the waiting, on stderr (always: stdout stays clean for --json). */
  readonly note: (doc: Line) => Effect.Effect<void>;
  /** The JSON document of --json (one per command run). */
  readonly document: (value: unknown) => Effect.Effect<void>;
  readonly spinner: Spinner;
  /** Runs `effect` with the spinner showing `label`, cleared whatever the outcome. */
  readonly waiting: <A, E, R>(
    label: string,
    effect: Effect.Effect<A, E, R>,
  ) => Effect.Effect<A, E, R>;
}

export class Output extends Context.Tag("authchart/cli/Output")<Output, OutputService>() {
  static readonly make = (options: {
    readonly json: boolean;
    readonly stdout?: NodeJS.WriteStream | undefined;
    readonly stderr?: NodeJS.WriteStream | undefined;
    readonly env?: Env | undefined;
  }): OutputService => {
    const stdout = options.stdout ?? process.stdout;
    const stderr = options.stderr ?? process.stderr;
    const env = options.env ?? process.env;
    const colour = { stdout: colourFor(stdout, env), stderr: colourFor(stderr, env) };
    const spinner = makeSpinner(
      stderr,
      stderr.isTTY === true && env.TERM !== "dumb" && env.CI === undefined,
      colour.stderr,
    );
    const write = (stream: NodeJS.WriteStream, value: string) =>
      Effect.sync(() => {
        spinner.clear();
        stream.write(value.endsWith("\n") ? value : `${value}\n`);
      });
    const sanitizeStdout = sanitizesUntrusted(stdout, colour.stdout);
    return {
      json: options.json,
      colour,
      untrusted: (value) => (sanitizeStdout ? sanitize(value) : value),
      say: (doc) => (options.json ? Effect.void : write(stdout, render(doc, colour.stdout))),
      print: (value) => (options.json ? Effect.void : write(stdout, value)),
      note: (doc) => write(stderr, render(doc, colour.stderr)),
      document: (value) => write(stdout, inertJson(value)),
      spinner,
      waiting: (label, effect) =>
        Effect.acquireUseRelease(
          Effect.sync(() => spinner.start(label)),
          () => effect,
          () => Effect.sync(() => spinner.stop()),
        ),
    };
  };

  static readonly layer = (options: { readonly json: boolean }) =>
    Layer.sync(Output, () => Output.make(options));
}
