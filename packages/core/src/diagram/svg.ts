/**
 * A statechart as an SVG picture, drawn from the machine itself (its state nodes and the
 * transitions `transitionRows` reads), with the path one recorded run took highlighted: the
 * states it was in filled, the transitions it took drawn thick and numbered in the order taken.
 * Pure: a string of SVG markup with presentation attributes only (no script, no stylesheet, no
 * external reference), so a page can inline it and still work offline under a
 * `default-src 'none'` content security policy.
 *
 * The layout is layered: the states of one parent in rows by their distance from the parent's
 * initial state (breadth first over the transitions between them), in document order within a
 * row; a compound state is a box that holds its children laid out the same way. Arrows go from
 * the bottom of a state to the top of a later row's state, and around the side otherwise; every
 * arrow has a tooltip (`<title>`) with its events and guards.
 * SVG 1.1: https://www.w3.org/TR/SVG11/
 */
import type { AnyStateMachine, AnyStateNode } from "xstate";
import { type TransitionRow, transitionRows } from "./mermaid.js";

/** What a run took, by state node id (`authchart.obtaining`, `authorizationCode.registering`). */
export interface SvgHighlight {
  readonly visited: ReadonlySet<string>;
  /** In the order taken; a re-entering transition has source = target. */
  readonly transitions: ReadonlyArray<{ readonly source: string; readonly target: string }>;
  /** The state the run ended in (drawn with a heavier border). */
  readonly last?: string | undefined;
}

const FONT = 12;
const CHAR = 7; // average advance of the font at 12px
const LEAF_HEIGHT = 30;
const PAD = 14;
const HEADER = 22;
const ROW_GAP = 46;
const COLUMN_GAP = 24;

const COLOURS = {
  box: "#ffffff",
  border: "#8a8f98",
  text: "#1d1d1f",
  visited: "#dbeafe",
  visitedBorder: "#1d4ed8",
  failed: "#fdecea",
  failedBorder: "#a4262c",
  edge: "#b8bcc4",
  taken: "#1d4ed8",
  compound: "#f7f7f9",
} as const;

const escapeXml = (value: string): string =>
  value.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c,
  );

interface Box {
  x: number;
  y: number;
  readonly width: number;
  readonly height: number;
  /** Children's boxes, positions relative to this box until `place` makes them absolute. */
  readonly children: ReadonlyArray<readonly [AnyStateNode, Box]>;
}

const childrenOf = (node: AnyStateNode): AnyStateNode[] => Object.values(node.states);

/** The child of `parent` that `node` is or lies in; undefined outside `parent`. */
const childContaining = (parent: AnyStateNode, node: AnyStateNode): AnyStateNode | undefined => {
  let current: AnyStateNode | undefined = node;
  while (current !== undefined && current.parent !== parent) current = current.parent;
  return current;
};

/** Rows of `parent`'s children: breadth first from its initial state over their transitions. */
const rowsOf = (parent: AnyStateNode, rows: readonly TransitionRow[]): AnyStateNode[][] => {
  const children = childrenOf(parent);
  const next = new Map<AnyStateNode, AnyStateNode[]>(children.map((c) => [c, []]));
  for (const row of rows) {
    const from = childContaining(parent, row.source);
    if (from === undefined) continue;
    for (const target of row.targets) {
      const to = childContaining(parent, target);
      if (to !== undefined && to !== from) next.get(from)?.push(to);
    }
  }
  const rank = new Map<AnyStateNode, number>();
  const initial = parent.initial?.target[0];
  const start = initial === undefined ? children[0] : childContaining(parent, initial);
  const queue: AnyStateNode[] = start === undefined ? [] : [start];
  if (start !== undefined) rank.set(start, 0);
  while (queue.length > 0) {
    const node = queue.shift() as AnyStateNode;
    for (const to of next.get(node) ?? []) {
      if (rank.has(to)) continue;
      rank.set(to, (rank.get(node) ?? 0) + 1);
      queue.push(to);
    }
  }
  const deepest = Math.max(-1, ...rank.values());
  const result: AnyStateNode[][] = [];
  for (const child of children) {
    const r = rank.get(child) ?? deepest + 1;
    while (result.length <= r) result.push([]);
    result[r]?.push(child);
  }
  return result.filter((row) => row.length > 0);
};

const layout = (node: AnyStateNode, rows: readonly TransitionRow[]): Box => {
  const children = childrenOf(node);
  if (children.length === 0)
    return {
      x: 0,
      y: 0,
      width: node.key.length * CHAR + 2 * PAD,
      height: LEAF_HEIGHT,
      children: [],
    };
  const placed: Array<readonly [AnyStateNode, Box]> = [];
  const rowBoxes = rowsOf(node, rows).map((row) =>
    row.map((child) => [child, layout(child, rows)] as const),
  );
  const width =
    Math.max(
      node.key.length * CHAR,
      ...rowBoxes.map(
        (row) => row.reduce((sum, [, box]) => sum + box.width, 0) + COLUMN_GAP * (row.length - 1),
      ),
    ) +
    2 * PAD;
  let y = HEADER + PAD;
  for (const row of rowBoxes) {
    const rowWidth =
      row.reduce((sum, [, box]) => sum + box.width, 0) + COLUMN_GAP * (row.length - 1);
    let x = (width - rowWidth) / 2;
    const height = Math.max(...row.map(([, box]) => box.height));
    for (const [child, box] of row) {
      box.x = x;
      box.y = y + (height - box.height) / 2;
      x += box.width + COLUMN_GAP;
      placed.push([child, box]);
    }
    y += height + ROW_GAP;
  }
  return { x: 0, y: 0, width, height: y - ROW_GAP + PAD, children: placed };
};

/** Absolute positions of every state's box. */
const place = (box: Box, dx: number, dy: number, into: Map<AnyStateNode, Box>) => {
  for (const [child, childBox] of box.children) {
    childBox.x += dx;
    childBox.y += dy;
    into.set(child, childBox);
    place(childBox, childBox.x, childBox.y, into);
  }
};

const round = (n: number) => Math.round(n * 10) / 10;

/** The path of an arrow from one box to another (or to itself). */
const arrowPath = (from: Box, to: Box): { d: string; labelX: number; labelY: number } => {
  if (from === to) {
    const x = from.x + from.width;
    const y = from.y + from.height / 2;
    return {
      d: `M${round(x)},${round(y - 8)} C${round(x + 34)},${round(y - 26)} ${round(x + 34)},${round(y + 26)} ${round(x)},${round(y + 8)}`,
      labelX: x + 30,
      labelY: y,
    };
  }
  const fromBottom = from.y + from.height;
  if (to.y >= fromBottom) {
    const x1 = from.x + from.width / 2;
    const x2 = to.x + to.width / 2;
    const mid = (fromBottom + to.y) / 2;
    return {
      d: `M${round(x1)},${round(fromBottom)} C${round(x1)},${round(mid)} ${round(x2)},${round(mid)} ${round(x2)},${round(to.y)}`,
      labelX: (x1 + x2) / 2,
      labelY: mid,
    };
  }
  // Upwards or sideways: leave by the side that faces the target, bend outwards.
  const rightwards = to.x + to.width / 2 >= from.x + from.width / 2;
  const x1 = rightwards ? from.x + from.width : from.x;
  const x2 = rightwards ? to.x : to.x + to.width;
  const y1 = from.y + from.height / 2;
  const y2 = to.y + to.height / 2;
  const bend = Math.min(80, 24 + Math.abs(y1 - y2) / 4) * (rightwards ? 1 : -1);
  const cx1 = x1 + (y1 === y2 ? 0 : bend);
  const cx2 = x2 + (y1 === y2 ? 0 : -bend);
  const cy = y1 === y2 ? y1 - 30 : undefined;
  return {
    d:
      cy === undefined
        ? `M${round(x1)},${round(y1)} C${round(cx1)},${round(y1)} ${round(cx2)},${round(y2)} ${round(x2)},${round(y2)}`
        : `M${round(x1)},${round(y1 - 6)} C${round(x1)},${round(cy)} ${round(x2)},${round(cy)} ${round(x2)},${round(y2 - 6)}`,
    labelX: (x1 + x2) / 2,
    labelY: cy ?? (y1 + y2) / 2,
  };
};

const isFailure = (node: AnyStateNode) => node.key === "failed" || node.key === "fallingBack";

/**
 * The machine as an SVG element; with `highlight`, the run's path on it. `title` names the
 * picture for assistive technology.
 */
export const toSvg = (
  machine: AnyStateMachine,
  highlight?: SvgHighlight,
  title: string = `the ${machine.id} statechart`,
): string => {
  const rows = transitionRows(machine);
  const root = layout(machine.root, rows);
  const boxes = new Map<AnyStateNode, Box>();
  place(root, 0, -HEADER, boxes);
  const width = root.width + 60;
  const height = root.height - HEADER + 10;
  const visited = highlight?.visited ?? new Set<string>();
  // Marker ids unique per machine: a page may inline several pictures.
  const marker = `arrow-${machine.id.replace(/[^\w-]/g, "_")}`;

  // One arrow per pair of states; its tooltip lists every event and guard between them.
  const arrows = new Map<string, { from: AnyStateNode; to: AnyStateNode; labels: string[] }>();
  for (const row of rows) {
    if (row.source === machine.root) continue;
    for (const target of row.targets.length > 0 ? row.targets : [row.source]) {
      const key = `${row.source.id}\u0000${target.id}`;
      const label = `${row.event}${row.guard ? ` [${row.guard}]` : ""}`;
      const arrow = arrows.get(key);
      if (arrow === undefined) arrows.set(key, { from: row.source, to: target, labels: [label] });
      else if (!arrow.labels.includes(label)) arrow.labels.push(label);
    }
  }
  const order = new Map<string, number[]>();
  highlight?.transitions.forEach((t, index) => {
    const key = `${t.source}\u0000${t.target}`;
    order.set(key, [...(order.get(key) ?? []), index + 1]);
  });

  const states: string[] = [];
  const drawState = (node: AnyStateNode, box: Box) => {
    const was = visited.has(node.id);
    const failed = was && isFailure(node);
    const fill = failed
      ? COLOURS.failed
      : was
        ? COLOURS.visited
        : box.children.length > 0
          ? COLOURS.compound
          : COLOURS.box;
    const stroke = failed ? COLOURS.failedBorder : was ? COLOURS.visitedBorder : COLOURS.border;
    const strokeWidth = highlight?.last === node.id ? 3 : was ? 1.6 : 1;
    const textY = box.children.length > 0 ? box.y + 15 : box.y + box.height / 2 + 4;
    const textX = box.children.length > 0 ? box.x + 8 : box.x + box.width / 2;
    states.push(
      `<g class="state${was ? " visited" : ""}${failed ? " failed" : ""}" data-state="${escapeXml(node.id)}"><title>${escapeXml(node.path.join("."))}${node.type === "final" ? " (final)" : ""}${was ? ": visited in this run" : ""}</title>` +
        `<rect x="${round(box.x)}" y="${round(box.y)}" width="${round(box.width)}" height="${round(box.height)}" rx="${box.children.length > 0 ? 8 : 14}" fill="${fill}" stroke="${stroke}" stroke-width="${strokeWidth}"${node.type === "final" ? ' stroke-dasharray="4 2"' : ""}/>` +
        `<text x="${round(textX)}" y="${round(textY)}" font-size="${FONT}" font-weight="${was ? 700 : 400}" fill="${COLOURS.text}"${box.children.length > 0 ? "" : ' text-anchor="middle"'}>${escapeXml(node.key)}</text></g>`,
    );
    for (const [child, childBox] of box.children) drawState(child, childBox);
  };
  for (const [child, box] of root.children) drawState(child, box);

  const plain: string[] = [];
  const taken: string[] = [];
  for (const [key, arrow] of arrows) {
    const from = boxes.get(arrow.from);
    const to = boxes.get(arrow.to);
    if (from === undefined || to === undefined) continue;
    const path = arrowPath(from, to);
    const steps = order.get(key);
    const tip = `${arrow.from.key} → ${arrow.to.key}: ${arrow.labels.join("; ")}`;
    if (steps === undefined) {
      plain.push(
        `<path class="transition" d="${path.d}" fill="none" stroke="${COLOURS.edge}" stroke-width="1" marker-end="url(#${marker})"><title>${escapeXml(tip)}</title></path>`,
      );
    } else {
      const shown = steps.length > 4 ? `${steps.slice(0, 4).join(",")},…` : steps.join(",");
      taken.push(
        `<g class="transition taken" data-from="${escapeXml(arrow.from.id)}" data-to="${escapeXml(arrow.to.id)}"><title>${escapeXml(`${tip} (taken: step ${steps.join(", ")})`)}</title>` +
          `<path d="${path.d}" fill="none" stroke="${COLOURS.taken}" stroke-width="2.6" marker-end="url(#${marker}-taken)"/>` +
          `<text x="${round(path.labelX)}" y="${round(path.labelY)}" font-size="10" font-weight="700" fill="${COLOURS.taken}" stroke="#fff" stroke-width="3" paint-order="stroke" text-anchor="middle">${escapeXml(shown)}</text></g>`,
      );
    }
  }

  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="-10 -10 ${round(width)} ${round(height)}" width="${round(width)}" height="${round(height)}" role="img" aria-label="${escapeXml(title)}" font-family="system-ui, sans-serif">` +
    `<title>${escapeXml(title)}</title>` +
    `<defs><marker id="${marker}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="${COLOURS.edge}"/></marker>` +
    `<marker id="${marker}-taken" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="${COLOURS.taken}"/></marker></defs>` +
    `${states.join("")}${plain.join("")}${taken.join("")}</svg>`
  );
};
