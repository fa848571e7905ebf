/**
 * `@authchart/core/diagram`: the statecharts as Mermaid diagrams and as the document
 * docs/state-diagram.md. Pure functions of the machines, no I/O.
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
