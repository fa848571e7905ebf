/**
 * One machine definition for every session: its step actors run the implementations bound to
 * their own actor system, each session its own; a step of a session that bound none fails typed.
 */
import { Layer, ManagedRuntime } from "effect";
import { describe, expect, it } from "vitest";
import { type AnyStateMachine, createActor, fromPromise, toPromise } from "xstate";
import {
  bindSteps,
  promiseCreatorOf,
  sharedAuthMachine,
} from "../../src/machine/shared-machine.js";
import {
  makeStepActors,
  type StepActors,
  type StepServices,
} from "../../src/machine/step-actors.js";

const runtime = ManagedRuntime.make(Layer.empty as unknown as Layer.Layer<StepServices>);
const steps = makeStepActors(runtime, {
  settings: { clientName: "t", redirectUris: ["http://127.0.0.1:33418/callback"] },
});
const actorsOf = (machine: AnyStateMachine) =>
  machine.implementations.actors as Record<string, unknown>;

describe("sharedAuthMachine", () => {
  it("every step actor makeStepActors builds is a promise actor whose function can be called", () => {
    for (const [name, logic] of Object.entries(steps))
      expect(typeof promiseCreatorOf(logic), name).toBe("function");
    expect(() => promiseCreatorOf({})).toThrow(TypeError);
  });

  it("a delegate runs the implementation bound to its actor's system, each session its own", async () => {
    const refresh = actorsOf(sharedAuthMachine).refreshToken;
    const ran: string[] = [];
    const fake = (label: string) =>
      ({
        ...steps,
        refreshToken: fromPromise(async () => {
          ran.push(label);
          return label;
        }),
      }) as unknown as StepActors;
    for (const label of ["session A", "session B"]) {
      const actor = createActor(refresh as ReturnType<typeof fromPromise>, {
        input: {},
      });
      bindSteps(actor.system, fake(label));
      actor.start();
      expect(await toPromise(actor)).toBe(label);
    }
    expect(ran).toEqual(["session A", "session B"]);
  });

  it("a step in a system no session bound fails with a typed StepDefect, not a crash", async () => {
    const refresh = actorsOf(sharedAuthMachine).refreshToken as ReturnType<typeof fromPromise>;
    const actor = createActor(refresh, { input: {} });
    actor.start();
    await expect(toPromise(actor)).rejects.toMatchObject({
      _tag: "StepDefect",
      step: "refreshToken",
    });
  });

  it("is provided once: every session's actor runs the same definition", () => {
    const a = createActor(sharedAuthMachine, {
      input: { serverUrl: "http://127.0.0.1:1/mcp", config: {} },
    });
    const b = createActor(sharedAuthMachine, {
      input: { serverUrl: "http://127.0.0.1:2/mcp", config: {} },
    });
    expect(a.logic).toBe(b.logic);
    expect(a.system).not.toBe(b.system);
  });
});
