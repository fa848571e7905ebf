/**
 * The statecharts drawn from the machines themselves: a Mermaid `stateDiagram-v2` of every state
 * node (nested ones inside their parent), every transition labelled with its event — `after
 * <delay>` for timers, `always` for eventless ones — its guard and its actions, every invoked
 * actor and entry action, then the same transitions as a table in the order xstate tries them.
 *
 * Pure functions, no I/O: docs/state-diagram.md and the README's diagram are written by
 * scripts/diagram.mjs (`npm run diagram`), test/machine/diagram.test.ts renders the source
 * machine and compares with them, and `authchart diagram` prints `toMermaid` — one renderer for
 * the docs and the CLI. Mermaid's syntax: https://mermaid.js.org/syntax/stateDiagram.html
 */
import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition, UnknownAction } from "xstate";

/** Actions left out of labels: the decision trace is emitted by nearly every transition. */
const QUIET_ACTIONS: ReadonlySet<string> = new Set(["trace"]);

/** State nodes below `node`, parents before children, in document order. */
const descendants = (node: AnyStateNode): AnyStateNode[] =>
  Object.values(node.states).flatMap((child) => [child, ...descendants(child)]);

/** A guard as written: a named guard, or and/or/not of guards. */
export const guardName = (guard: unknown): string => {
  if (guard === undefined) return "";
  if (typeof guard === "string") return guard;
  if (typeof guard === "function") {
    // xstate's and/or/not are functions carrying the guards they combine.
    const composed = guard as { readonly guards?: unknown; readonly name: string };
    if (Array.isArray(composed.guards)) {
      return `${composed.name}(${composed.guards.map(guardName).join(", ")})`;
    }
    return composed.name || "(inline)";
  }
  if (typeof guard === "object" && guard !== null && "type" in guard) return String(guard.type);
  return "(inline)";
};

/** An action's name; inline functions and xstate's built-ins (raise/cancel for `after`) have none. */
const actionName = (action: UnknownAction): string | undefined => {
  if (typeof action === "string") return action;
  if (typeof action === "object" && action !== null && "type" in action) {
    return String(action.type);
  }
  return undefined;
};

const actionNames = (actions: readonly UnknownAction[]): string[] =>
  actions
    .map(actionName)
    .filter((name): name is string => name !== undefined && !QUIET_ACTIONS.has(name));

/** One candidate transition of one event in one state. */
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

/** The delay of an `after` transition (xstate's DelayedTransitionDefinition), if it is one. */
const delayOf = (transition: AnyTransitionDefinition): unknown =>
  "delay" in transition ? (transition as { readonly delay?: unknown }).delay : undefined;

/**
 * Every transition of the machine, each guarded candidate of each event, `after` and `always`
 * included, in the order xstate reads them.
 */
export const transitionRows = (machine: AnyStateMachine): TransitionRow[] =>
  [machine.root, ...descendants(machine.root)].flatMap((source) => {
    const groups: Array<[string, readonly AnyTransitionDefinition[]]> = [
      ...source.transitions.entries(),
    ];
    if (source.always) groups.push(["", source.always]);
    return groups.flatMap(([eventType, candidates]) =>
      candidates.map((t, index): TransitionRow => {
        const delay = delayOf(t);
        return {
          source,
          event:
            eventType === ""
              ? "always"
              : delay !== undefined && eventType.startsWith("xstate.after.")
                ? `after ${String(delay)}`
                : eventType,
          index,
          of: candidates.length,
          guard: t.guard !== undefined ? guardName(t.guard) : index > 0 ? "else" : "",
          targets: t.target ?? [],
          reenter: t.reenter,
          actions: actionNames(t.actions),
        };
      }),
    );
  });

/** Mermaid ids: the state's key where no other state has it, else its path joined with `_`. */
const mermaidIds = (machine: AnyStateMachine): Map<AnyStateNode, string> => {
  const nodes = descendants(machine.root);
  const keys = new Map<string, number>();
  for (const node of nodes) keys.set(node.key, (keys.get(node.key) ?? 0) + 1);
  const ids = new Map<AnyStateNode, string>();
  for (const node of nodes) {
    ids.set(node, keys.get(node.key) === 1 ? node.key : node.path.join("_"));
  }
  return ids;
};

const label = (row: TransitionRow): string => {
  let text = row.event;
  if (row.guard) text += ` [${row.guard}]`;
  if (row.reenter) text += " (re-enter)";
  if (row.actions.length > 0) text += ` / ${row.actions.join(", ")}`;
  // Mermaid ends a label at a newline and reads `;` and `#` specially.
  return text.replaceAll(/[;#\n]/g, " ");
};

/** The machine as a Mermaid stateDiagram-v2. */
export const toMermaid = (machine: AnyStateMachine): string => {
  const ids = mermaidIds(machine);
  const id = (node: AnyStateNode): string => ids.get(node) ?? node.key;
  const lines: string[] = ["stateDiagram-v2"];

  const declare = (parent: AnyStateNode, indent: string): void => {
    const initial = parent.initial.target[0];
    if (initial) lines.push(`${indent}[*] --> ${id(initial)}`);
    for (const node of Object.values(parent.states)) {
      if (id(node) !== node.key) lines.push(`${indent}state "${node.key}" as ${id(node)}`);
      for (const name of actionNames(node.entry))
        lines.push(`${indent}${id(node)} : entry ${name}`);
      for (const invoke of node.invoke) {
        lines.push(
          `${indent}${id(node)} : invoke ${String(invoke.src)}${invoke.id !== invoke.src ? ` (${invoke.id})` : ""}`,
        );
      }
      for (const name of actionNames(node.exit)) lines.push(`${indent}${id(node)} : exit ${name}`);
      if (node.type === "final") lines.push(`${indent}${id(node)} --> [*]`);
      if (Object.keys(node.states).length > 0) {
        lines.push(`${indent}state ${id(node)} {`);
        declare(node, `${indent}  `);
        lines.push(`${indent}}`);
      }
    }
  };
  declare(machine.root, "  ");

  // One arrow per transition; unguarded ones between the same states with the same actions share
  // an arrow (e.g. `challenge.received, token.expired / answerWait` while a flow runs).
  const arrows = new Map<string, { arrow: string; events: string[]; rest: string }>();
  for (const row of transitionRows(machine)) {
    if (row.source === machine.root) continue;
    const targets = row.targets.length > 0 ? row.targets : [row.source];
    for (const target of targets) {
      const arrow = `${id(row.source)} --> ${id(target)}`;
      const rest = label({ ...row, event: "" });
      const key = row.guard === "" ? `${arrow}|${rest}` : `${arrow}|#${arrows.size}`;
      const existing = arrows.get(key);
      if (existing) existing.events.push(row.event);
      else arrows.set(key, { arrow, events: [row.event], rest });
    }
  }
  for (const { arrow, events, rest } of arrows.values()) {
    lines.push(`  ${arrow} : ${events.join(", ")}${rest}`);
  }

  // Transitions of the machine itself apply in every state: a note on their target says so.
  for (const row of transitionRows(machine)) {
    if (row.source !== machine.root) continue;
    const anchor = row.targets[0] ?? Object.values(machine.root.states)[0];
    if (!anchor) continue;
    lines.push(`  note left of ${id(anchor)}`);
    lines.push(
      `    from any state: ${label(row)}${row.targets.length > 0 ? ` → ${row.targets.map((t) => t.key).join(", ")}` : ""}`,
    );
    lines.push("  end note");
  }
  return `${lines.join("\n")}\n`;
};

const nodeName = (node: AnyStateNode | undefined, machine: AnyStateMachine): string =>
  node === undefined || node === machine.root ? "(any state)" : node.path.join(".");

/** Markdown-table cell text. */
const cell = (text: string): string => text.replaceAll("|", "\\|");

/**
 * One machine's section of docs/state-diagram.md: its diagram, then every transition in the
 * order xstate tries them.
 */
const machineSection = (machine: AnyStateMachine, heading: string): string[] => {
  const rows = transitionRows(machine);
  const states = descendants(machine.root);
  const table = rows.map((row) =>
    [
      nodeName(row.source, machine),
      row.event,
      row.of > 1 ? `${row.index + 1}. ${row.guard || "(none)"}` : row.guard,
      row.targets.length > 0
        ? row.targets.map((t) => nodeName(t, machine)).join(", ") +
          (row.reenter ? " (re-enter)" : "")
        : "(stays)",
      row.actions.join(", "),
    ]
      .map((text) => cell(text || "—"))
      .join(" | "),
  );
  return [
    `## ${heading}`,
    "",
    `\`${machine.id}\`: ${states.length} states, ${rows.length} transitions (each guarded candidate counted).`,
    "",
    "```mermaid",
    toMermaid(machine).trimEnd(),
    "```",
    "",
    `### ${machine.id}: transitions, in the order they are tried`,
    "",
    "| state | event | guard | target | actions |",
    "| --- | --- | --- | --- | --- |",
    ...table.map((line) => `| ${line} |`),
    "",
  ];
};

/** The statecharts to draw: the lifecycle, then each grant's child flow. */
export interface Charts {
  readonly lifecycle: AnyStateMachine;
  readonly flows: readonly AnyStateMachine[];
}

/** docs/state-diagram.md: the lifecycle and every child flow, each with its transitions. */
export const renderDocument = (charts: Charts): string =>
  [
    "<!-- Generated from the statecharts by packages/core/scripts/diagram.mjs: run `npm run diagram`. Do not edit. -->",
    "",
    "# The authchart statecharts",
    "",
    "The lifecycle (`authMachine`, packages/core/src/machine/auth-machine.ts) and the child flow",
    "each grant runs inside its `obtaining` state (packages/core/src/machine/flows/). Labels read",
    "`event [guard] / actions`; `after <delay>` is a named delay, `always` an eventless transition,",
    "`xstate.done.actor.<id>` / `xstate.error.actor.<id>` the completion and failure of an invoked",
    "actor (`flow` is the child flow). The decision-trace action (`trace`) is on nearly every",
    "transition and left out. For one event in one state the candidates are tried top to bottom;",
    "the first whose guard holds is taken. A transition of a parent state applies in each of its",
    "children.",
    "",
    ...machineSection(charts.lifecycle, "The lifecycle"),
    ...charts.flows.flatMap((flow) => machineSection(flow, `The ${flow.id} flow`)),
  ].join("\n");

/** The README shows the diagram between these markers. */
const START = "<!-- diagram:start -->";
const END = "<!-- diagram:end -->";

/** The README with its diagram section replaced by the statecharts' Mermaid diagrams. */
export const withReadmeDiagram = (readme: string, charts: Charts): string => {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md lacks the ${START} … ${END} markers`);
  const section = [
    START,
    "The lifecycle:",
    "",
    "```mermaid",
    toMermaid(charts.lifecycle).trimEnd(),
    "```",
    ...charts.flows.flatMap((flow) => [
      "",
      `The \`${flow.id}\` flow, run by \`obtaining\`:`,
      "",
      "```mermaid",
      toMermaid(flow).trimEnd(),
      "```",
    ]),
    "",
    "Every transition, in the order xstate tries them: [docs/state-diagram.md](docs/state-diagram.md).",
    END,
  ].join("\n");
  return readme.slice(0, start) + section + readme.slice(end + END.length);
};
