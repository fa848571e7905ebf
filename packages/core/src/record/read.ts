/**
 * A recording read back: the lines decoded with their Schema (a line that does not decode is an
 * InvalidTrace naming it — never skipped), then pure views over them for a reader: the timeline
 * (state by state, each decision, each request, the failures), the path each statechart took, and
 * the browser steps the transport never sees.
 */
import { Either, ParseResult, Schema } from "effect";
import {
  type DecisionLine,
  type HttpLine,
  type InspectLine,
  type OutcomeLine,
  type StartLine,
  TRACE_SCHEMA,
  TraceLine,
} from "./lines.js";

/** A recording that cannot be read: which line, and why (the reason quotes no line content). */
export class InvalidTrace extends Schema.TaggedError<InvalidTrace>()("InvalidTrace", {
  line: Schema.Number,
  reason: Schema.String,
}) {
  override get message() {
    return `line ${this.line} of the trace ${this.reason}`;
  }
}

const decodeLine = Schema.decodeUnknownEither(Schema.parseJson(TraceLine));

/** The lines of a recording (JSON Lines), or the first line that is not one of its lines. */
export const readTrace = (text: string): Either.Either<readonly TraceLine[], InvalidTrace> => {
  const lines: TraceLine[] = [];
  const raw = text.split("\n");
  for (let index = 0; index < raw.length; index++) {
    const source = raw[index] ?? "";
    if (source.trim() === "") continue;
    const decoded = decodeLine(source);
    if (Either.isLeft(decoded)) {
      // The issue's path and message, never the line itself (it is the file's, not ours).
      const issue = ParseResult.ArrayFormatter.formatErrorSync(decoded.left)[0];
      const where =
        issue === undefined || issue.path.length === 0 ? "" : ` at ${issue.path.join(".")}`;
      const reason =
        issue?._tag === "Transformation" && issue.path.length === 0
          ? "is not JSON"
          : `is not a line of an authchart trace${where}`;
      return Either.left(new InvalidTrace({ line: index + 1, reason }));
    }
    if (lines.length === 0 && decoded.right.kind !== "start")
      return Either.left(
        new InvalidTrace({
          line: index + 1,
          reason: `does not start an authchart trace (a first line with schema ${TRACE_SCHEMA})`,
        }),
      );
    lines.push(decoded.right);
  }
  if (lines.length === 0)
    return Either.left(new InvalidTrace({ line: 1, reason: "is missing: the file is empty" }));
  return Either.right(lines);
};

/** A state value as a dotted path: `{ obtaining: "authorizationCode" }` → `obtaining.authorizationCode`. */
export const statePath = (value: unknown): string => {
  if (typeof value === "string") return value;
  if (typeof value !== "object" || value === null) return "";
  return Object.entries(value as Record<string, unknown>)
    .map(([key, child]) => {
      const rest = statePath(child);
      return rest === "" ? key : `${key}.${rest}`;
    })
    .join(" | ");
};

/** The actors of a recording: which machine (or step) each runs, and its parent. */
export interface RecordedActor {
  readonly id: string;
  readonly machine?: string | undefined;
  readonly src?: string | undefined;
  readonly parent?: string | undefined;
}

export const actorsOf = (lines: readonly TraceLine[]): Map<string, RecordedActor> => {
  const actors = new Map<string, RecordedActor>();
  for (const line of lines)
    if (line.kind === "inspect" && line.type === "@xstate.actor")
      actors.set(line.actor, {
        id: line.actor,
        machine: line.machine,
        src: line.src,
        parent: line.parent,
      });
  return actors;
};

export interface RecordedError {
  readonly tag: string;
  readonly message: string;
}

/** The typed error a context holds (core's redactor keeps an error's tag and message). */
const contextError = (context: unknown): RecordedError | undefined => {
  if (typeof context !== "object" || context === null) return undefined;
  const error = (context as { error?: unknown }).error;
  if (typeof error !== "object" || error === null) return undefined;
  const { _tag, message } = error as { _tag?: unknown; message?: unknown };
  if (typeof _tag !== "string") return undefined;
  return { tag: _tag, message: typeof message === "string" ? message : _tag };
};

export type TimelineEntry =
  | { readonly kind: "start"; readonly line: StartLine }
  /** A statechart entered a state (the lifecycle, or a child flow). */
  | {
      readonly kind: "state";
      readonly time: string;
      readonly machine: string;
      readonly actor: string;
      readonly state: string;
    }
  | { readonly kind: "decision"; readonly line: DecisionLine }
  | { readonly kind: "http"; readonly line: HttpLine }
  /** A statechart reached its `failed` state from `step`, with the typed error it holds. */
  | {
      readonly kind: "failure";
      readonly time: string;
      readonly machine: string;
      readonly step: string;
      readonly error: RecordedError | undefined;
    }
  | { readonly kind: "outcome"; readonly line: OutcomeLine };

const leafKey = (state: string): string => state.split(".").at(-1) ?? state;

/** The recording for a person: state by state, each decision, each request, failures named. */
export const timelineOf = (lines: readonly TraceLine[]): TimelineEntry[] => {
  const actors = new Map<string, RecordedActor>();
  const current = new Map<string, string>();
  const entries: TimelineEntry[] = [];
  for (const line of lines) {
    switch (line.kind) {
      case "start":
        entries.push({ kind: "start", line });
        break;
      case "decision":
        entries.push({ kind: "decision", line });
        break;
      case "http":
        entries.push({ kind: "http", line });
        break;
      case "outcome":
        entries.push({ kind: "outcome", line });
        break;
      case "inspect": {
        if (line.type === "@xstate.actor") {
          actors.set(line.actor, { id: line.actor, machine: line.machine, parent: line.parent });
          break;
        }
        const machine = actors.get(line.actor)?.machine;
        if (line.type !== "@xstate.snapshot" || machine === undefined || line.state === undefined)
          break;
        const state = statePath(line.state);
        const before = current.get(line.actor);
        if (state === before) break;
        current.set(line.actor, state);
        entries.push({ kind: "state", time: line.time, machine, actor: line.actor, state });
        if (leafKey(state) === "failed" || state.startsWith("failed"))
          entries.push({
            kind: "failure",
            time: line.time,
            machine,
            step: before ?? "(start)",
            error: contextError(line.context),
          });
        break;
      }
    }
  }
  return entries;
};

/** The path one statechart took: the states it was in, the transitions it took, in order. */
export interface MachinePath {
  readonly machine: string;
  /** State node ids (`authchart.obtaining`, `authorizationCode.registering`). */
  readonly visited: ReadonlySet<string>;
  readonly transitions: ReadonlyArray<{
    readonly source: string;
    readonly target: string;
    readonly event: string;
  }>;
}

/** The node ids of a state value: every ancestor of every active leaf. */
const nodeIds = (machine: string, value: unknown, prefix: string = machine): string[] => {
  if (typeof value === "string") return [`${prefix}.${value}`];
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, child]) => [
    `${prefix}.${key}`,
    ...nodeIds(machine, child, `${prefix}.${key}`),
  ]);
};

/** Per machine id, the path its actors took (every actor of one machine adds to the same path). */
export const pathsOf = (lines: readonly TraceLine[]): Map<string, MachinePath> => {
  const actors = actorsOf(lines);
  const paths = new Map<
    string,
    { visited: Set<string>; transitions: Array<{ source: string; target: string; event: string }> }
  >();
  const pathFor = (machine: string) => {
    let path = paths.get(machine);
    if (path === undefined) {
      path = { visited: new Set(), transitions: [] };
      paths.set(machine, path);
    }
    return path;
  };
  for (const line of lines) {
    if (line.kind !== "inspect") continue;
    const machine = actors.get(line.actor)?.machine;
    if (machine === undefined) continue;
    const path = pathFor(machine);
    if (line.state !== undefined)
      for (const id of nodeIds(machine, line.state)) path.visited.add(id);
    // A transition without a target only runs actions (a relayed trace entry): no step of the path.
    for (const t of line.transitions ?? [])
      for (const target of t.targets)
        path.transitions.push({ source: t.source, target, event: t.event });
  }
  return new Map(
    [...paths].map(([machine, path]) => [machine, { machine, ...path } satisfies MachinePath]),
  );
};

/** A step of the flow the transport never sees: the user in the browser, or entering a user code. */
export interface UserStep {
  readonly machine: string;
  readonly state: string;
  readonly time: string;
  readonly durationMillis: number | undefined;
  /** The state the flow went to next (exchangingCode, failed, …). */
  readonly next: string | undefined;
}

/** States in which the flow waits for the user (authorization-code and device flows). */
const USER_STATES: ReadonlySet<string> = new Set(["authorizing", "awaitingUser"]);

export const userStepsOf = (timeline: readonly TimelineEntry[]): UserStep[] => {
  const steps: UserStep[] = [];
  const states = timeline.filter(
    (entry): entry is Extract<TimelineEntry, { kind: "state" }> => entry.kind === "state",
  );
  states.forEach((entry, index) => {
    if (!USER_STATES.has(leafKey(entry.state))) return;
    const next = states.slice(index + 1).find((later) => later.actor === entry.actor);
    steps.push({
      machine: entry.machine,
      state: entry.state,
      time: entry.time,
      durationMillis:
        next === undefined ? undefined : Date.parse(next.time) - Date.parse(entry.time),
      next: next?.state,
    });
  });
  return steps;
};

/** The inspect lines of one type (for readers that want the raw events). */
export const inspectLines = (lines: readonly TraceLine[], type: string): InspectLine[] =>
  lines.filter((line): line is InspectLine => line.kind === "inspect" && line.type === type);
