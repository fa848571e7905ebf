#!/usr/bin/env node
/** The `authchart` executable: runs the command line and exits with its code. */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime";
import { exitCodeOf, main } from "./main.js";

NodeRuntime.runMain(main(process.argv), {
  disableErrorReporting: true,
  // Always exit with the command's code, even 0: a browser tab or a keep-alive socket left open
  // must not keep a finished command waiting.
  teardown: (exit) => process.exit(exitCodeOf(exit as Parameters<typeof exitCodeOf>[0])),
});
