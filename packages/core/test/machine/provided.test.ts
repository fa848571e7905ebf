/**
 * The session's machine runs real steps for everything its statecharts invoke: for the lifecycle
 * and for each grant's flow, every `invoke.src` is provided by provideSteps (step-actors.ts), not
 * left to the placeholder that refuses to run (actors.ts). A branch added to a flow (a headless
 * user agent's device steps in the authorization-code flow) cannot ship without its steps.
 */
import { Layer, ManagedRuntime } from "effect";
import { describe, expect, it } from "vitest";
import type { AnyStateMachine, AnyStateNode } from "xstate";
import { authMachine } from "../../src/machine/auth-machine.js";
import { provideSteps, type StepServices } from "../../src/machine/step-actors.js";
import { stateNodesOf } from "./scripted.js";

const invoked = (machine: AnyStateMachine): string[] => [
  ...new Set(
    stateNodesOf(machine).flatMap((node: AnyStateNode) => node.invoke.map((i) => String(i.src))),
  ),
];

describe("provideSteps", () => {
  // Never run: the actors are only built.
  const runtime = ManagedRuntime.make(Layer.empty as unknown as Layer.Layer<StepServices>);
  const provided = provideSteps(runtime, {
    settings: { clientName: "t", redirectUris: ["http://127.0.0.1:33418/callback"] },
  });
  const actorsOf = (machine: AnyStateMachine) =>
    machine.implementations.actors as Record<string, unknown>;

  it("provides every actor the lifecycle and each flow invoke", () => {
    const missing: string[] = [];
    for (const src of invoked(authMachine)) {
      const real = actorsOf(provided)[src];
      if (real === undefined || real === actorsOf(authMachine)[src]) missing.push(src);
      // A child flow: each of its own steps provided too.
      if (typeof real === "object" && real !== null && "root" in real) {
        const flow = real as AnyStateMachine;
        const placeholders = actorsOf(authMachine)[src] as AnyStateMachine;
        for (const step of invoked(flow)) {
          const actor = actorsOf(flow)[step];
          if (actor === undefined || actor === actorsOf(placeholders)[step])
            missing.push(`${src}.${step}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });
});
