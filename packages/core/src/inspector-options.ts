/**
 * The options that make an @statelyai/inspect inspector safe to point at a session:
 *
 *     createWebSocketInspector({ url, ...inspectorOptions() })
 *
 * `sanitizeContext` and `sanitizeEvent` are the redactors of ./machine/redact.ts. They are not
 * enough on their own: @statelyai/inspect applies them to a machine's `context` and to events
 * only, while an inspection event also carries the whole snapshot of each actor — for the step
 * actors (xstate's fromPromise) their `input` (an authorization code and its verifier on the way
 * to the token endpoint) and `output` (the token response), and the definition of each machine
 * (the values written into its configuration). `serialize`, which the inspector calls last on
 * every inspection event before its adapter sends it, therefore keeps only the parts of a
 * snapshot the inspector shows and redacts the whole event again, definition included. It is idempotent, because the
 * library's WebSocket adapter serializes events it held back while connecting a second time.
 *
 * @see https://stately.ai/docs/inspector (the inspector's options)
 * @see https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization#token-theft
 */
import type { AnyEventObject, MachineContext } from "xstate";
import { redact, sanitizeContext, sanitizeEvent } from "./machine/redact.js";

/** What a snapshot may show the inspector; anything else (the machine, state nodes) stays here. */
const shownSnapshotParts = [
  "status",
  "value",
  "context",
  "children",
  "input",
  "output",
  "error",
  "tags",
] as const;

const shownSnapshot = (snapshot: unknown): unknown => {
  if (snapshot === null || typeof snapshot !== "object") return snapshot;
  const whole = snapshot as Record<string, unknown>;
  const shown: Record<string, unknown> = {};
  for (const part of shownSnapshotParts) {
    const value = whole[part];
    if (value === undefined) continue;
    // A machine snapshot's tags are a Set (it lists them as an array in its own toJSON).
    shown[part] = value instanceof Set ? [...value] : value;
  }
  return redact(shown);
};

/**
 * An actor's definition, as @statelyai/inspect sends it: its machine's configuration as JSON,
 * which holds the values written into it (a context given as an object, an invoke's input);
 * redacted like the rest, and left out when it is not JSON.
 */
const shownDefinition = (definition: unknown): string | undefined => {
  if (typeof definition !== "string") return undefined;
  try {
    return JSON.stringify(redact(JSON.parse(definition)));
  } catch {
    return undefined;
  }
};

/**
 * Every inspection event made fit to leave the process: the snapshot cut to what the inspector
 * shows, and every Redacted value and secret-named member (tokens, codes, verifiers, client
 * secrets, assertions) replaced by "<redacted>".
 */
const serialize = <Event>(event: Event): Event => {
  if (event === null || typeof event !== "object") return event;
  const { snapshot, definition, ...rest } = event as Record<string, unknown>;
  const redacted = redact(rest) as Record<string, unknown>;
  if (snapshot !== undefined) redacted.snapshot = shownSnapshot(snapshot);
  if (definition !== undefined) redacted.definition = shownDefinition(definition);
  return redacted as Event;
};

export interface InspectorSanitizers {
  readonly sanitizeContext: (context: MachineContext) => MachineContext;
  readonly sanitizeEvent: (event: AnyEventObject) => AnyEventObject;
  readonly serialize: <Event>(event: Event) => Event;
}

/**
 * The options for @statelyai/inspect's createWebSocketInspector, createSkyInspector,
 * createBrowserInspector or createInspector that keep every secret of a session in the process.
 */
export const inspectorOptions = (): InspectorSanitizers => ({
  sanitizeContext: (context) => sanitizeContext(context) as MachineContext,
  sanitizeEvent: (event) => sanitizeEvent(event) as AnyEventObject,
  serialize,
});
