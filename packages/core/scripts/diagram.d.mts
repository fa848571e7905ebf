/** Types for diagram.mjs (plain ESM so `node scripts/diagram.mjs` runs without a build step of its own). */
import type { AnyStateMachine, AnyStateNode } from "xstate";

export interface TransitionRow {
  readonly source: AnyStateNode;
  /** The event as a reader names it: `after <delay>`, `always`, or its type. */
  readonly event: string;
  /** Its place among the candidates for that event (first match wins). */
  readonly index: number;
  /** How many candidates that event has in that state. */
  readonly of: number;
  /** The guard; `else` for an unguarded candidate after guarded ones; empty for none. */
  readonly guard: string;
  /** Empty: no state change (actions only). */
  readonly targets: readonly AnyStateNode[];
  readonly reenter: boolean;
  readonly actions: readonly string[];
}

export declare const guardName: (guard: unknown) => string;
export declare const transitionRows: (machine: AnyStateMachine) => TransitionRow[];
export declare const toMermaid: (machine: AnyStateMachine) => string;
/** The statecharts drawn: the lifecycle, then each grant's child flow. */
export interface Charts {
  readonly lifecycle: AnyStateMachine;
  readonly flows: readonly AnyStateMachine[];
}
export declare const renderDocument: (charts: Charts) => string;
/** docs/state-diagram.md at the repository root. */
export declare const documentPath: string;
/** README.md at the repository root. */
export declare const readmePath: string;
/** The README with the section between its diagram markers replaced by the current diagrams. */
export declare const withReadmeDiagram: (readme: string, charts: Charts) => string;
