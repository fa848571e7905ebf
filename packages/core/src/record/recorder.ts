/**
 * A recorder for a session: everything a person needs to see a flow later, as JSON lines
 * (lines.ts) — the statechart's inspection events, the decision trace and every HTTP exchange —
 * with nothing secret in them.
 *
 *     const recorder = createRecorder({ serverUrl, onLine: (line) => file.write(line) });
 *     const session = await createSession({ serverUrl, client, ...recorder.sessionOptions() });
 *
 * The exchanges come from the session's `fetch` option, the transport of every request a session
 * makes (discovery, registration, tokens, revocation and the protected requests): the recorder
 * wraps it and never reads a body. The inspection events go through core's redactor (Redacted
 * values and members named like secrets become "<redacted>") and are reduced to data (actor ids,
 * state values, the transitions taken). As a last guard every line is scrubbed of each credential
 * the recorder saw in a request header and of anything shaped like a JWT.
 */
import type { AnyEventObject, InspectionEvent } from "xstate";
import type { TraceEntry } from "../machine/model.js";
import { redact } from "../machine/redact.js";
import {
  endpointKey,
  type KnownEndpoints,
  phaseOf,
  REDACTED,
  recordedUrl,
  redactHeaders,
} from "./http-redaction.js";
import { type InspectLine, type TakenTransition, TRACE_SCHEMA, type TraceLine } from "./lines.js";

export interface RecorderOptions {
  /** The MCP server the session protects: its requests are `resource` from the first one on. */
  readonly serverUrl?: string | undefined;
  /** Each line as it is recorded (e.g. @authchart/node's traceFile writer). */
  readonly onLine?: ((line: TraceLine) => void) | undefined;
  /** How many lines `lines()` keeps (the oldest are dropped first). Default 10,000. */
  readonly keep?: number | undefined;
  /** The clock, epoch milliseconds. Default Date.now. */
  readonly now?: (() => number) | undefined;
}

/** The parts of createSession's options a recording needs. */
export interface RecordingSessionOptions {
  readonly fetch: typeof globalThis.fetch;
  readonly inspect: (event: InspectionEvent) => void;
  readonly onTrace: (entry: TraceEntry) => void;
}

export interface Recorder {
  /** A fetch that records each exchange, over `base` (default globalThis.fetch). */
  readonly fetch: (base?: typeof globalThis.fetch) => typeof globalThis.fetch;
  /** For createSession's `inspect` (xstate's inspection hook). */
  readonly inspect: (event: InspectionEvent) => void;
  /** For createSession's `onTrace` (the decision trace). */
  readonly onTrace: (entry: TraceEntry) => void;
  /** `fetch`, `inspect` and `onTrace` at once, to spread into createSession's options. */
  readonly sessionOptions: (base?: typeof globalThis.fetch) => RecordingSessionOptions;
  /**
   * Ends the recording with an `outcome` line: success without an error, else the error's tag
   * and message (an error without a tag is named by its class only: its message may quote
   * anything) and, where the caller knows it, what to do about it.
   */
  readonly finish: (error?: unknown, hint?: string) => void;
  /** The lines so far (at most `keep`). */
  readonly lines: () => readonly TraceLine[];
  /** The lines so far as JSON Lines text. */
  readonly jsonLines: () => string;
}

const DEFAULT_KEEP = 10_000;

const asString = (value: unknown): string | undefined =>
  typeof value === "string" ? value : undefined;

/** An error as `{ tag, message }`: a typed error's own; anything else by its name only. */
export const describeError = (error: unknown): { tag: string; message: string } => {
  if (typeof error === "object" && error !== null) {
    const tag = asString((error as { _tag?: unknown })._tag);
    const message = asString((error as { message?: unknown }).message);
    if (tag !== undefined) return { tag, message: message ?? tag };
    const name = asString((error as { name?: unknown }).name) ?? "Error";
    return { tag: name, message: `a ${name} (its text is not recorded)` };
  }
  return { tag: typeof error, message: `a thrown ${typeof error}` };
};

/** The state value of a snapshot as data (`"authorized"`, `{ obtaining: "authorizationCode" }`). */
const stateValue = (snapshot: unknown): unknown =>
  typeof snapshot === "object" && snapshot !== null && "value" in snapshot
    ? redact((snapshot as { value: unknown }).value)
    : undefined;

interface ActorLike {
  readonly sessionId?: unknown;
  readonly src?: unknown;
  readonly logic?: { readonly id?: unknown; readonly root?: unknown } | undefined;
  readonly _parent?: { readonly sessionId?: unknown } | undefined;
}

/** The transitions of a microstep as state node ids. */
const takenTransitions = (transitions: readonly unknown[]): TakenTransition[] =>
  transitions.flatMap((t) => {
    const transition = t as {
      readonly source?: { readonly id?: unknown };
      readonly target?: ReadonlyArray<{ readonly id?: unknown }>;
      readonly eventType?: unknown;
    };
    const source = asString(transition.source?.id);
    if (source === undefined) return [];
    return [
      {
        source,
        targets: (transition.target ?? []).flatMap((node) => asString(node.id) ?? []),
        event: asString(transition.eventType) ?? "",
      },
    ];
  });

/** Where a context names the endpoints of the resource and its authorization server. */
const learnEndpoints = (context: unknown, into: MutableEndpoints) => {
  if (typeof context !== "object" || context === null) return;
  const c = context as {
    readonly serverUrl?: unknown;
    readonly resource?: { readonly resource?: unknown };
    readonly authServer?: { readonly metadata?: Readonly<Record<string, unknown>> };
  };
  const add = (set: Set<string>, url: unknown) => {
    const key = typeof url === "string" ? endpointKey(url) : undefined;
    if (key !== undefined) set.add(key);
  };
  add(into.resources, c.serverUrl);
  add(into.resources, c.resource?.resource);
  const metadata = c.authServer?.metadata;
  if (metadata === undefined) return;
  add(into.registration, metadata.registration_endpoint);
  add(into.authorization, metadata.authorization_endpoint);
  add(into.authorization, metadata.device_authorization_endpoint);
  add(into.token, metadata.token_endpoint);
  add(into.revocation, metadata.revocation_endpoint);
};

interface MutableEndpoints extends KnownEndpoints {
  readonly resources: Set<string>;
  readonly registration: Set<string>;
  readonly authorization: Set<string>;
  readonly token: Set<string>;
  readonly revocation: Set<string>;
}

/** The credential of an Authorization or DPoP header (the part after the scheme). */
const credentialsIn = (headers: Headers): string[] =>
  ["authorization", "proxy-authorization", "dpop"].flatMap((name) => {
    const value = headers.get(name);
    if (value === null) return [];
    const parts = value.trim().split(/\s+/);
    // Short values would scrub ordinary text; a credential is never this short.
    return parts.filter((part, index) => (index > 0 || parts.length === 1) && part.length >= 8);
  });

/**
 * The headers of fetch's arguments, without building a Request (which would take the body):
 * init's replace the Request's, as the Request constructor does (Fetch standard, "new Request").
 */
const requestHeaders = (input: string | URL | Request, init: RequestInit | undefined): Headers =>
  init?.headers !== undefined
    ? new Headers(init.headers)
    : new Headers(input instanceof Request ? input.headers : undefined);

const requestUrl = (input: string | URL | Request): string =>
  typeof input === "string" ? input : input instanceof URL ? input.href : input.url;

export const createRecorder = (options: RecorderOptions = {}): Recorder => {
  const now = options.now ?? Date.now;
  const keep = Math.max(1, options.keep ?? DEFAULT_KEEP);
  const kept: TraceLine[] = [];
  /** Credentials seen in request headers: no line may contain one. */
  const seen = new Set<string>();
  const known: MutableEndpoints = {
    resources: new Set(),
    registration: new Set(),
    authorization: new Set(),
    token: new Set(),
    revocation: new Set(),
  };
  if (options.serverUrl !== undefined) learnEndpoints({ serverUrl: options.serverUrl }, known);
  let exchanges = 0;
  let finished = false;

  const time = () => new Date(now()).toISOString();

  /** A line through the last guard: no credential seen in a header, nothing shaped like a JWT. */
  const scrub = (line: TraceLine): TraceLine => {
    let text = JSON.stringify(line);
    let changed = false;
    for (const secret of seen) {
      const quoted = JSON.stringify(secret).slice(1, -1);
      if (text.includes(quoted)) {
        text = text.replaceAll(quoted, REDACTED);
        changed = true;
      }
    }
    const withoutJws = text.replace(/eyJ[\w-]*\.[\w-]+\.[\w-]*/g, REDACTED);
    if (withoutJws !== text) changed = true;
    return changed ? (JSON.parse(withoutJws) as TraceLine) : line;
  };

  const record = (line: TraceLine) => {
    const clean = scrub(line);
    kept.push(clean);
    if (kept.length > keep) kept.splice(0, kept.length - keep);
    try {
      options.onLine?.(clean);
    } catch {
      // A writer that fails must not fail the session it records (as an inspector: session.ts).
    }
  };

  record({
    kind: "start",
    time: time(),
    schema: TRACE_SCHEMA,
    ...(options.serverUrl === undefined ? {} : { serverUrl: recordedUrl(options.serverUrl) }),
  });

  const inspect = (event: InspectionEvent) => {
    const actor = event.actorRef as ActorLike;
    const base = { kind: "inspect" as const, time: time(), type: event.type };
    const id = asString(actor.sessionId) ?? "";
    const isMachine = actor.logic?.root !== undefined;
    let line: InspectLine;
    switch (event.type) {
      case "@xstate.actor": {
        const parent = asString(actor._parent?.sessionId);
        const machine = isMachine ? asString(actor.logic?.id) : undefined;
        const src = isMachine ? undefined : asString(actor.src);
        line = {
          ...base,
          actor: id,
          ...(machine === undefined ? {} : { machine }),
          ...(src === undefined ? {} : { src }),
          ...(parent === undefined ? {} : { parent }),
        };
        break;
      }
      case "@xstate.event": {
        const source = asString((event.sourceRef as ActorLike | undefined)?.sessionId);
        line = {
          ...base,
          actor: id,
          event: redact(event.event),
          ...(source === undefined ? {} : { source }),
        };
        break;
      }
      case "@xstate.snapshot": {
        const snapshot = event.snapshot as {
          readonly status?: unknown;
          readonly context?: unknown;
          readonly error?: unknown;
        };
        // A step actor's snapshot holds its output; only a machine's context is recorded.
        const context = isMachine ? redact(snapshot.context) : undefined;
        if (isMachine) learnEndpoints(snapshot.context, known);
        const status = asString(snapshot.status);
        line = {
          ...base,
          actor: id,
          event: (event.event as AnyEventObject).type,
          ...(isMachine ? { state: stateValue(snapshot) } : {}),
          ...(status === undefined ? {} : { status }),
          ...(context === undefined ? {} : { context }),
          ...(snapshot.error === undefined ? {} : { error: describeError(snapshot.error) }),
        };
        break;
      }
      case "@xstate.microstep":
        line = {
          ...base,
          actor: id,
          event: (event.event as AnyEventObject).type,
          state: stateValue(event.snapshot),
          transitions: takenTransitions(event._transitions),
        };
        break;
      case "@xstate.action":
        line = { ...base, actor: id, action: event.action.type };
        break;
      default:
        line = { ...base, actor: id };
    }
    record(line);
  };

  const onTrace = (entry: TraceEntry) => {
    record({
      kind: "decision",
      time: time(),
      decision: entry.decision,
      reason: entry.reason,
      ...(entry.details === undefined ? {} : { details: redact(entry.details) }),
    });
  };

  const fetch =
    (base: typeof globalThis.fetch = globalThis.fetch.bind(globalThis)): typeof globalThis.fetch =>
    async (input, init) => {
      const started = now();
      const url = requestUrl(input);
      const headers = requestHeaders(input, init);
      for (const credential of credentialsIn(headers)) seen.add(credential);
      const method = (
        init?.method ?? (input instanceof Request ? input.method : "GET")
      ).toUpperCase();
      const id = ++exchanges;
      // The phase is read when the exchange is recorded: a step may send its request in the
      // same macrostep that brought the metadata naming the endpoint, before the snapshot that
      // teaches it to the recorder is inspected.
      const common = () => ({
        kind: "http" as const,
        time: new Date(started).toISOString(),
        id,
        phase: phaseOf(url, known),
        method,
        url: recordedUrl(url),
        requestHeaders: redactHeaders(headers),
      });
      try {
        const response = await base(input, init);
        record({
          ...common(),
          status: response.status,
          durationMillis: now() - started,
          responseHeaders: redactHeaders(response.headers),
        });
        return response;
      } catch (error) {
        record({ ...common(), durationMillis: now() - started, failure: describeError(error) });
        throw error;
      }
    };

  return {
    fetch,
    inspect,
    onTrace,
    sessionOptions: (base) => ({ fetch: fetch(base), inspect, onTrace }),
    finish: (error, hint) => {
      if (finished) return;
      finished = true;
      record({
        kind: "outcome",
        time: time(),
        ok: error === undefined,
        ...(error === undefined ? {} : { error: describeError(error) }),
        ...(hint === undefined ? {} : { hint }),
      });
    },
    lines: () => [...kept],
    jsonLines: () => kept.map((line) => `${JSON.stringify(line)}\n`).join(""),
  };
};
