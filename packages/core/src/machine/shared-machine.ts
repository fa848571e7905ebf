/**
 * One machine definition for every session. `machine.provide(...)` copies the whole statechart
 * (lifecycle and flows), milliseconds and tens of kilobytes per session; instead the lifecycle is
 * provided once, with step actors that run the implementations bound to their own actor system —
 * each session's root actor has its own system, shared by its child flows and their steps — so a
 * session adds only its step implementations (closures over its runtime and settings).
 */
import { type AnyActorRef, type EventObject, fromPromise } from "xstate";
import { StepDefect } from "./errors.js";
import { provideStepActors, type StepActors } from "./step-actors.js";

type AnyActorSystem = AnyActorRef["system"];

const stepsBySystem = new WeakMap<AnyActorSystem, StepActors>();

/** Binds a session's step implementations to its actor's system (before the actor starts). */
export const bindSteps = (system: AnyActorSystem, steps: StepActors): void => {
  stepsBySystem.set(system, steps);
};

type PromiseArgs<I> = {
  readonly input: I;
  readonly system: AnyActorSystem;
  readonly signal: AbortSignal;
  readonly self: unknown;
  readonly emit: (event: EventObject) => void;
};
type Creator<O, I> = (args: PromiseArgs<I>) => PromiseLike<O>;
type OutputOf<L> = L extends { getInitialSnapshot: (...a: never[]) => { output?: infer O } }
  ? Exclude<O, undefined>
  : never;
type InputOf<L> = L extends { getInitialSnapshot: (scope: never, input: infer I) => unknown }
  ? I
  : never;

/** A promise actor's function: xstate keeps it as the logic's `config` (untyped there). */
export const promiseCreatorOf = <O, I>(logic: unknown): Creator<O, I> => {
  const config = (logic as { readonly config?: unknown }).config;
  if (typeof config !== "function")
    throw new TypeError("a step actor is not a promise actor (xstate's fromPromise)");
  return config as Creator<O, I>;
};

const delegate = <K extends keyof StepActors>(name: K) =>
  fromPromise<OutputOf<StepActors[K]>, InputOf<StepActors[K]>>((args) => {
    const steps = stepsBySystem.get(args.system);
    if (steps === undefined)
      return Promise.reject(
        new StepDefect({ step: name, reason: "no step implementations are bound to this session" }),
      );
    return promiseCreatorOf<OutputOf<StepActors[K]>, InputOf<StepActors[K]>>(steps[name])(args);
  });

const delegates = (names: readonly (keyof StepActors)[]) =>
  Object.fromEntries(names.map((name) => [name, delegate(name)])) as unknown as StepActors;

/** Every step a flow or the lifecycle invokes (step-actors.ts's makeStepActors builds them). */
const stepNames = [
  "discoverResource",
  "discoverAuthServer",
  "register",
  "authorize",
  "exchangeCode",
  "requestDeviceCode",
  "pollDeviceToken",
  "findStoredToken",
  "requestClientCredentials",
  "requestJwtBearer",
  "requestIdJag",
  "exchangeIdJag",
  "refreshToken",
] as const satisfies readonly (keyof StepActors)[];

/** The lifecycle every session runs: provided once, for the process. */
export const sharedAuthMachine = provideStepActors(delegates(stepNames));
