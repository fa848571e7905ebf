#!/usr/bin/env node
/**
 * Writes docs/state-diagram.md and the README's diagram section from the statecharts themselves.
 * The rendering is core's `@authchart/core/diagram` (src/diagram/, pure functions); this script
 * is only its I/O. Run `npm run diagram`: it builds the package and renders the built machine
 * (dist/); the test (test/machine/diagram.test.ts) renders the source machine and compares.
 */
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { renderDocument, withReadmeDiagram } from "../dist/diagram/index.js";
import {
  authMachine,
  authorizationCodeFlow,
  clientCredentialsFlow,
  crossAppAccessFlow,
  deviceAuthorizationFlow,
  jwtBearerFlow,
} from "../dist/index.js";

/** docs/ at the repository root. */
const documentPath = fileURLToPath(new URL("../../../docs/state-diagram.md", import.meta.url));
/** The README at the repository root shows the diagram between its diagram markers. */
const readmePath = fileURLToPath(new URL("../../../README.md", import.meta.url));

const charts = {
  lifecycle: authMachine,
  flows: [
    authorizationCodeFlow,
    clientCredentialsFlow,
    jwtBearerFlow,
    crossAppAccessFlow,
    deviceAuthorizationFlow,
  ],
};

await writeFile(documentPath, renderDocument(charts));
console.log(`wrote ${documentPath}`);
await writeFile(readmePath, withReadmeDiagram(await readFile(readmePath, "utf8"), charts));
console.log(`wrote the diagram section of ${readmePath}`);
