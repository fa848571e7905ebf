/**
 * authchart, the command (see `authchart --help`). The package's own API is the program itself,
 * for embedding and tests: `main(argv)` runs a command line and succeeds with the exit code.
 */
export { classify, ExitCode, exitCodeTable } from "./errors.js";
export { main } from "./main.js";
