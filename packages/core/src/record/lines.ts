/**
 * What a recorded flow is made of: one JSON document per line (JSON Lines, https://jsonlines.org),
 * each with its time. One definition, used by the recorder that writes the lines and by every
 * reader (`authchart trace`, the HTML report): a line the reader cannot decode is an error that
 * names its line number, never skipped.
 *
 * - `start`: the recording's schema and what it watches;
 * - `inspect`: an xstate inspection event (https://stately.ai/docs/inspection), reduced to data
 *   and passed through core's redactor (machine/redact.ts) — actor ids, state values, the
 *   transitions a microstep took, events and contexts without a secret;
 * - `decision`: an entry of the session's decision trace (`session.onTrace`);
 * - `http`: one request of the session's transport and its answer: method, URL without query
 *   values, status, time to the answer's headers, headers with every credential redacted;
 * - `outcome`: how the watched work ended, with the typed error's tag and message.
 */
import { Schema } from "effect";

/** The `schema` of a recording's first line. */
export const TRACE_SCHEMA = "authchart.trace/1";

/** ISO 8601 with milliseconds (Date#toISOString). */
const Time = Schema.String;

export const StartLine = Schema.Struct({
  kind: Schema.Literal("start"),
  time: Time,
  schema: Schema.Literal(TRACE_SCHEMA),
  /** The MCP server the recorded session protects, when the recorder was told. */
  serverUrl: Schema.optional(Schema.String),
});
export type StartLine = typeof StartLine.Type;

/** A transition a microstep took: state node ids (`authchart.obtaining`, `authorizationCode.registering`). */
export const TakenTransition = Schema.Struct({
  source: Schema.String,
  targets: Schema.Array(Schema.String),
  event: Schema.String,
});
export type TakenTransition = typeof TakenTransition.Type;

export const InspectLine = Schema.Struct({
  kind: Schema.Literal("inspect"),
  time: Time,
  /** `@xstate.actor`, `@xstate.event`, `@xstate.snapshot`, `@xstate.microstep`, `@xstate.action`. */
  type: Schema.String,
  /** The actor's session id (unique within the system). */
  actor: Schema.String,
  /** `@xstate.actor`: the id of the machine the actor runs (`authchart`, `authorizationCode`). */
  machine: Schema.optional(Schema.String),
  /** `@xstate.actor`: the actor's `src` when it is not a machine (a step: `discoverResource`). */
  src: Schema.optional(Schema.String),
  /** `@xstate.actor`: the parent actor's session id. */
  parent: Schema.optional(Schema.String),
  /** `@xstate.event`: the sender's session id. */
  source: Schema.optional(Schema.String),
  /** The event (redacted), or for a snapshot and a microstep the type of the event that caused it. */
  event: Schema.optional(Schema.Unknown),
  /** A machine snapshot's state value (`"authorized"`, `{ "obtaining": "authorizationCode" }`). */
  state: Schema.optional(Schema.Unknown),
  /** A snapshot's status: active, done, error, stopped. */
  status: Schema.optional(Schema.String),
  /** A machine snapshot's context, redacted. */
  context: Schema.optional(Schema.Unknown),
  /** A snapshot's error: tag and message (typed errors carry no secret in their message). */
  error: Schema.optional(Schema.Struct({ tag: Schema.String, message: Schema.String })),
  transitions: Schema.optional(Schema.Array(TakenTransition)),
  /** `@xstate.action`: the action's type. */
  action: Schema.optional(Schema.String),
});
export type InspectLine = typeof InspectLine.Type;

export const DecisionLine = Schema.Struct({
  kind: Schema.Literal("decision"),
  time: Time,
  decision: Schema.String,
  reason: Schema.String,
  details: Schema.optional(Schema.Unknown),
});
export type DecisionLine = typeof DecisionLine.Type;

/**
 * The part of the lifecycle a request belongs to. `authorization` covers what the browser step
 * leaves to the transport (a device authorization request); the browser itself is no request of
 * the session, readers show it from the flow's states.
 */
export const Phase = Schema.Literal(
  "discovery",
  "registration",
  "authorization",
  "token",
  "revocation",
  "resource",
  "other",
);
export type Phase = typeof Phase.Type;

export const Headers = Schema.Record({ key: Schema.String, value: Schema.String });

export const HttpLine = Schema.Struct({
  kind: Schema.Literal("http"),
  /** When the request was sent. */
  time: Time,
  /** Numbers the requests of one recording, from 1. */
  id: Schema.Number,
  phase: Phase,
  method: Schema.String,
  /** Query values shown as `…`, no fragment, no userinfo. */
  url: Schema.String,
  /** Absent when no answer came (the failure says why). */
  status: Schema.optional(Schema.Number),
  /** From sending to the answer's headers (the body is the caller's to read). */
  durationMillis: Schema.Number,
  requestHeaders: Headers,
  responseHeaders: Schema.optional(Headers),
  failure: Schema.optional(Schema.Struct({ tag: Schema.String, message: Schema.String })),
});
export type HttpLine = typeof HttpLine.Type;

export const OutcomeLine = Schema.Struct({
  kind: Schema.Literal("outcome"),
  time: Time,
  ok: Schema.Boolean,
  /** The typed error's tag and message (authchart's messages are built without secrets). */
  error: Schema.optional(Schema.Struct({ tag: Schema.String, message: Schema.String })),
  /** What to do about it, where the recorder's user knows (the CLI's hint). */
  hint: Schema.optional(Schema.String),
});
export type OutcomeLine = typeof OutcomeLine.Type;

export const TraceLine = Schema.Union(StartLine, InspectLine, DecisionLine, HttpLine, OutcomeLine);
export type TraceLine = typeof TraceLine.Type;
