/**
 * `@authchart/core/diagram`: the statecharts as Mermaid diagrams and as the document
 * docs/state-diagram.md, and as an SVG picture with a recorded run's path on it (the flow
 * report). Pure functions of the machines, no I/O.
 */
export {
  type Charts,
  guardName,
  renderDocument,
  type TransitionRow,
  toMermaid,
  transitionRows,
  withReadmeDiagram,
} from "./mermaid.js";
export { type SvgHighlight, toSvg } from "./svg.js";
