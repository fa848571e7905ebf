/**
 * Path coverage (issue 3, Tests): paths generated with xstate/graph's getShortestPaths over
 * `authMachine` and an event model (graph-model.ts), each replayed against the real machine with
 * scripted actors and a simulated clock; after every step the replayed actor must be where the
 * path says, having taken the transition the path says. Every state node and every transition of
 * the machine — each guarded candidate of each event, `always` and `after` included, listed from
 * the machine definition itself — must be taken by some replayed path.
 */
import { describe, expect, it } from "vitest";
import { type AnyEventObject, type AnyTransitionDefinition, transition } from "xstate";
import { getShortestPaths, type StatePath } from "xstate/graph";
import { authMachine } from "../../src/machine/auth-machine.js";
import type { AuthEvent, AuthInput } from "../../src/machine/model.js";
import { type ModelEvent, modelEvents, serializeAbstract } from "./graph-model.js";
import {
  type AuthSnapshot,
  authServerInfo,
  clientInfo,
  type Driven,
  drive,
  input,
  resourceInfo,
  type StepId,
  stateNodesOf,
  tokenInfo,
  transitionKey,
  transitionsOf,
} from "./scripted.js";

/**
 * Small bounds keep the model finite and the paths short; they make no transition unreachable
 * (the defaults are exercised by behaviours.test.ts).
 */
const config = { maxAuthorizationsPerScopeSet: 1, maxRefreshRetries: 1 };

interface Scenario {
  readonly name: string;
  readonly input: AuthInput;
  /** Paths of at most this many events. */
  readonly depth: number;
}

const scenarios: readonly Scenario[] = [
  { name: "a new session", input: input(config), depth: 6 },
  {
    name: "a session restored with a token",
    input: input(config, {
      resource: resourceInfo(["read", "write"]),
      authServer: authServerInfo(undefined, ["read", "write"]),
      client: clientInfo("dynamic"),
      token: tokenInfo({ scopes: ["read"] }),
    }),
    depth: 5,
  },
  {
    name: "a session restored with a token and no refresh token",
    input: input(config, {
      resource: resourceInfo(),
      authServer: authServerInfo(undefined, ["read", "write"]),
      client: clientInfo("pre-registered"),
      token: tokenInfo({ clientId: "static-client", hasRefreshToken: false }),
    }),
    depth: 3,
  },
];

type Path = StatePath<AuthSnapshot, AuthEvent>;

/** Traversal options: the event model, the abstract state, and a bound on path length. */
const traversal = (scenario: Scenario) => {
  const depth = new WeakMap<object, number>();
  return {
    input: scenario.input,
    events: modelEvents as unknown as (snapshot: AuthSnapshot) => AuthEvent[],
    serializeState: (snapshot: AuthSnapshot, _event: unknown, previous?: AuthSnapshot) => {
      if (!depth.has(snapshot)) {
        depth.set(snapshot, previous === undefined ? 0 : (depth.get(previous) ?? 0) + 1);
      }
      return serializeAbstract(snapshot);
    },
    stopWhen: (snapshot: AuthSnapshot) => (depth.get(snapshot) ?? 0) >= scenario.depth,
  };
};

/** The transitions the model says an event takes from a snapshot (guards evaluated, pure). */
const predicted = (snapshot: AuthSnapshot, event: ModelEvent): string[] =>
  authMachine.getTransitionData(snapshot, event as AuthEvent).map(transitionKey);

const describeEvent = (event: ModelEvent): string => {
  const e = event as AnyEventObject;
  if (e.type.startsWith("xstate.done.actor.")) return `${e.type.slice(18)} ✓`;
  if (e.type.startsWith("xstate.error.actor.")) {
    const error = e.error as { _tag?: string; code?: string; error?: string };
    return `${e.type.slice(19)} ✗ ${error._tag}${error.code ? `(${error.code})` : ""}${error.error ? `(${error.error})` : ""}`;
  }
  if (e.type.startsWith("xstate.after.")) return `after ${e.type.split(".")[2]}`;
  if (e.type === "challenge.received") {
    const c = e as Extract<AuthEvent, { type: "challenge.received" }>;
    return `${c.challenge.status}${c.challenge.error ? ` ${c.challenge.error}` : ""}${c.challenge.scope ? ` [${c.challenge.scope.join(" ")}]` : ""} on v${c.tokenVersion ?? "-"}`;
  }
  if ("tokenVersion" in e) return `${e.type} v${e.tokenVersion}`;
  if ("scopes" in e) return `${e.type} [${(e.scopes as string[]).join(" ")}]`;
  return e.type;
};

const describePath = (path: Path): string =>
  path.steps
    .slice(1)
    .map((s) => describeEvent(s.event))
    .join(" → ") || "(initial state)";

/** What the world does for one step: settle a step actor, run a timer, or send the event. */
const apply = async (driven: Driven, event: ModelEvent) => {
  const e = event as AnyEventObject;
  if (e.type.startsWith("xstate.done.actor.")) {
    await driven.resolve(e.type.slice(18) as StepId, e.output);
  } else if (e.type.startsWith("xstate.error.actor.")) {
    await driven.reject(e.type.slice(19) as StepId, e.error);
  } else if (e.type.startsWith("xstate.after.")) {
    driven.elapse();
  } else {
    driven.send(e as AuthEvent);
  }
};

/** Drops paths that are a prefix of another path (each step is checked on the longer one). */
const withoutPrefixes = (paths: readonly Path[]): Path[] => {
  const ids = new Map<string, number>();
  const idOf = (event: ModelEvent) => {
    const key = JSON.stringify(event);
    let id = ids.get(key);
    if (id === undefined) {
      id = ids.size;
      ids.set(key, id);
    }
    return id;
  };
  const seen = new Set<string>();
  const kept: Path[] = [];
  for (const path of [...paths].sort((a, b) => b.steps.length - a.steps.length)) {
    const seq = path.steps.slice(1).map((s) => idOf(s.event));
    if (seen.has(seq.join(","))) continue;
    kept.push(path);
    for (let i = 0; i <= seq.length; i++) seen.add(seq.slice(0, i).join(","));
  }
  return kept;
};

// ---------------------------------------------------------------------------------------------

const allTransitions = transitionsOf(authMachine).map(transitionKey);
const allStates = stateNodesOf(authMachine).map((node) => node.id);
const coveredTransitions = new Set<string>();
const coveredStates = new Set<string>();
const totals = { abstractStates: 0, edges: 0, paths: 0, steps: 0 };

/**
 * The paths for one scenario: the shortest path to every abstract state; then, for each
 * transition no shortest path takes (those that change nothing the abstract state shows:
 * answering a request, re-entering a state), the shortest path to a state where an event of the
 * model takes it, plus that event.
 */
const generate = (scenario: Scenario) => {
  const shortest = getShortestPaths(authMachine, traversal(scenario));
  const reached = new Set<string>();
  for (const path of shortest) {
    for (let i = 1; i < path.steps.length; i++) {
      const from = path.steps[i - 1];
      const step = path.steps[i];
      if (from && step) for (const key of predicted(from.state, step.event)) reached.add(key);
    }
  }
  const extended: Path[] = [];
  let edges = 0;
  for (const path of shortest) {
    for (const event of modelEvents(path.state)) {
      const keys = predicted(path.state, event);
      if (keys.length === 0) continue;
      edges++;
      if (keys.every((key) => reached.has(key))) continue;
      for (const key of keys) reached.add(key);
      const [next] = transition(authMachine, path.state, event as AuthEvent);
      extended.push({
        state: next,
        steps: [...path.steps, { state: next, event: event as AuthEvent }],
        weight: path.weight + 1,
      });
    }
  }
  totals.abstractStates += shortest.length;
  totals.edges += edges;
  return [...withoutPrefixes(shortest), ...extended];
};

describe("path coverage: every state and transition of authMachine, replayed", () => {
  for (const scenario of scenarios) {
    it(`replays every generated path from ${scenario.name}`, async () => {
      const paths = generate(scenario);
      const failures: string[] = [];
      for (const path of paths) {
        const driven = drive(scenario.input);
        try {
          const first = path.steps[0];
          if (!first || serializeAbstract(driven.snapshot()) !== serializeAbstract(first.state)) {
            throw new Error("the initial state differs");
          }
          for (const n of driven.snapshot()._nodes) coveredStates.add(n.id);
          for (const t of driven.taken) {
            coveredTransitions.add(transitionKey(t));
            coveredStates.add((t.source as { id: string }).id);
          }
          for (let i = 1; i < path.steps.length; i++) {
            const from = path.steps[i - 1] as Path["steps"][number];
            const step = path.steps[i] as Path["steps"][number];
            const before = driven.taken.length;
            await apply(driven, step.event);
            const taken = driven.taken
              .slice(before)
              .map((t: AnyTransitionDefinition) => transitionKey(t));
            const expected = predicted(from.state, step.event);
            if (taken.join() !== expected.join()) {
              throw new Error(
                `step ${i} (${describeEvent(step.event)}) took [${taken.join(", ")}], the model says [${expected.join(", ")}]`,
              );
            }
            const actual = serializeAbstract(driven.snapshot());
            if (actual !== serializeAbstract(step.state)) {
              throw new Error(
                `after step ${i} (${describeEvent(step.event)}) the actor is in ${actual}, the path says ${serializeAbstract(step.state)}`,
              );
            }
            for (const t of driven.taken.slice(before)) {
              coveredStates.add((t.source as { id: string }).id);
            }
            for (const key of taken) coveredTransitions.add(key);
            for (const n of driven.snapshot()._nodes) coveredStates.add(n.id);
            totals.steps++;
          }
        } catch (error) {
          failures.push(`${describePath(path)}\n    ${(error as Error).message}`);
        } finally {
          driven.actor.stop();
        }
      }
      totals.paths += paths.length;
      expect(failures.slice(0, 10), `${failures.length} of ${paths.length} paths diverged`).toEqual(
        [],
      );
    });
  }

  it("covers every state and every transition of the machine", () => {
    const missingStates = allStates.filter((id) => !coveredStates.has(id));
    const missingTransitions = allTransitions.filter((key) => !coveredTransitions.has(key));
    console.log(
      [
        "authMachine path coverage",
        `  states:      ${allStates.length - missingStates.length} of ${allStates.length} covered`,
        `  transitions: ${allTransitions.length - missingTransitions.length} of ${allTransitions.length} covered`,
        ...missingTransitions.map((k) => `  MISSING ${k}`),
        `  model: ${totals.abstractStates} abstract states, ${totals.edges} edges; replayed ${totals.paths} paths, ${totals.steps} steps`,
      ].join("\n"),
    );
    expect(missingStates, "state nodes no replayed path entered").toEqual([]);
    expect(missingTransitions, "transitions no replayed path took").toEqual([]);
  });
});
