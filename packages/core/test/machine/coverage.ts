/**
 * Path coverage for any of the statecharts: paths generated with xstate/graph's getShortestPaths
 * over the machine and an event model, each replayed against the real machine with scripted
 * actors and a simulated clock; after every step the replayed actor must be where the path says,
 * having taken the transition the path says. Every state node and every transition — each
 * guarded candidate of each event, `always` and `after` included, listed from the machine
 * definition itself — must be taken by some replayed path.
 */
import { describe, expect, it } from "vitest";
import {
  type AnyEventObject,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type AnyTransitionDefinition,
  transition,
} from "xstate";
import { getShortestPaths, type StatePath } from "xstate/graph";
import { stateNodesOf, transitionKey, transitionsOf } from "./scripted.js";

export interface Replay {
  readonly taken: AnyTransitionDefinition[];
  readonly snapshot: () => AnyMachineSnapshot;
  /** What the world does for one step: settle a step actor, run a timer, or send the event. */
  readonly apply: (event: AnyEventObject) => Promise<void>;
  readonly stop: () => void;
}

export interface CoverageSubject<I> {
  readonly name: string;
  readonly machine: AnyStateMachine;
  readonly scenarios: readonly {
    readonly name: string;
    readonly input: I;
    readonly depth: number;
  }[];
  readonly events: (snapshot: AnyMachineSnapshot) => AnyEventObject[];
  readonly serialize: (snapshot: AnyMachineSnapshot) => string;
  readonly replay: (input: I) => Replay;
}

type Path = StatePath<AnyMachineSnapshot, AnyEventObject>;

export const describeEvent = (event: AnyEventObject): string => {
  const e = event as AnyEventObject & Record<string, unknown>;
  if (e.type.startsWith("xstate.done.actor.")) {
    const output = e.output as { ok?: boolean } | undefined;
    return `${e.type.slice(18)} ✓${output?.ok === false ? " (failed)" : ""}`;
  }
  if (e.type.startsWith("xstate.error.actor.")) {
    const error = e.error as { _tag?: string; code?: string; error?: string };
    return `${e.type.slice(19)} ✗ ${error._tag}${error.code ? `(${error.code})` : ""}${error.error ? `(${error.error})` : ""}`;
  }
  if (e.type.startsWith("xstate.after.")) return `after ${e.type.split(".")[2]}`;
  if (e.type === "challenge.received") {
    const c = e as unknown as {
      challenge: { status: number; error?: string; scope?: string[] };
      tokenVersion?: number;
    };
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

/** Drops paths that are a prefix of another path (each step is checked on the longer one). */
const withoutPrefixes = (paths: readonly Path[]): Path[] => {
  const ids = new Map<string, number>();
  const idOf = (event: AnyEventObject) => {
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

export const describeCoverage = <I>(subject: CoverageSubject<I>) => {
  const { machine } = subject;
  const allTransitions = transitionsOf(machine).map(transitionKey);
  const allStates = stateNodesOf(machine).map((node) => node.id);
  const coveredTransitions = new Set<string>();
  const coveredStates = new Set<string>();
  const totals = { abstractStates: 0, edges: 0, paths: 0, steps: 0 };

  /** The transitions the model says an event takes from a snapshot (guards evaluated, pure). */
  const predicted = (snapshot: AnyMachineSnapshot, event: AnyEventObject): string[] =>
    machine.getTransitionData(snapshot as never, event).map(transitionKey);

  /**
   * The shortest path to every abstract state; then, for each transition no shortest path takes
   * (those that change nothing the abstract state shows: answering a request, re-entering a
   * state), the shortest path to a state where an event of the model takes it, plus that event.
   */
  const generate = (scenario: CoverageSubject<I>["scenarios"][number]) => {
    const depth = new WeakMap<object, number>();
    const shortest = getShortestPaths(machine, {
      input: scenario.input,
      events: subject.events,
      serializeState: (snapshot, _event, previous) => {
        if (!depth.has(snapshot)) {
          depth.set(snapshot, previous === undefined ? 0 : (depth.get(previous) ?? 0) + 1);
        }
        return subject.serialize(snapshot);
      },
      stopWhen: (snapshot) => (depth.get(snapshot) ?? 0) >= scenario.depth,
    }) as unknown as Path[];
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
      for (const event of subject.events(path.state)) {
        const keys = predicted(path.state, event);
        if (keys.length === 0) continue;
        edges++;
        if (keys.every((key) => reached.has(key))) continue;
        for (const key of keys) reached.add(key);
        const [next] = transition(machine, path.state as never, event);
        extended.push({
          state: next as AnyMachineSnapshot,
          steps: [...path.steps, { state: next as AnyMachineSnapshot, event }],
          weight: path.weight + 1,
        });
      }
    }
    totals.abstractStates += shortest.length;
    totals.edges += edges;
    return [...withoutPrefixes(shortest), ...extended];
  };

  describe(`path coverage: every state and transition of ${subject.name}, replayed`, () => {
    for (const scenario of subject.scenarios) {
      it(`replays every generated path from ${scenario.name}`, async () => {
        const paths = generate(scenario);
        const failures: string[] = [];
        for (const path of paths) {
          const replay = subject.replay(scenario.input);
          try {
            const first = path.steps[0];
            if (!first || subject.serialize(replay.snapshot()) !== subject.serialize(first.state)) {
              throw new Error("the initial state differs");
            }
            for (const n of replay.snapshot()._nodes) coveredStates.add(n.id);
            for (const t of replay.taken) {
              coveredTransitions.add(transitionKey(t));
              coveredStates.add((t.source as { id: string }).id);
            }
            for (let i = 1; i < path.steps.length; i++) {
              const from = path.steps[i - 1] as Path["steps"][number];
              const step = path.steps[i] as Path["steps"][number];
              const before = replay.taken.length;
              await replay.apply(step.event);
              const takenNow = replay.taken.slice(before);
              const taken = takenNow.map((t) => transitionKey(t));
              const expected = predicted(from.state, step.event);
              // The event's own transitions first; then only eventless ones (`always`) may follow
              // in the same macrostep — the state reached is checked below either way.
              const following = takenNow.slice(expected.length);
              if (
                taken.slice(0, expected.length).join() !== expected.join() ||
                following.some((t) => t.eventType !== "")
              ) {
                throw new Error(
                  `step ${i} (${describeEvent(step.event)}) took [${taken.join(", ")}], the model says [${expected.join(", ")}]`,
                );
              }
              const actual = subject.serialize(replay.snapshot());
              if (actual !== subject.serialize(step.state)) {
                throw new Error(
                  `after step ${i} (${describeEvent(step.event)}) the actor is in ${actual}, the path says ${subject.serialize(step.state)}`,
                );
              }
              for (const t of replay.taken.slice(before)) {
                coveredStates.add((t.source as { id: string }).id);
              }
              for (const key of taken) coveredTransitions.add(key);
              for (const n of replay.snapshot()._nodes) coveredStates.add(n.id);
              totals.steps++;
            }
          } catch (error) {
            failures.push(`${describePath(path)}\n    ${(error as Error).message}`);
          } finally {
            replay.stop();
          }
        }
        totals.paths += paths.length;
        expect(
          failures.slice(0, 10),
          `${failures.length} of ${paths.length} paths diverged`,
        ).toEqual([]);
      });
    }

    it("covers every state and every transition of the machine", () => {
      const missingStates = allStates.filter((id) => !coveredStates.has(id));
      const missingTransitions = allTransitions.filter((key) => !coveredTransitions.has(key));
      console.log(
        [
          `${subject.name} path coverage`,
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
};
