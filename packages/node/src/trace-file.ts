/**
 * A recording written to a file as it happens: one JSON line per call, in order, for core's
 * recorder (`createRecorder({ onLine: file.write })` from `@authchart/core/record`). The file is
 * created (or emptied) with mode 0600: the lines hold no secret, but they name the servers, the
 * client and the scopes a user works with.
 *
 * Writes are synchronous so that the lines of a process that ends abruptly are on disk, in the
 * order they happened. A write that fails is not retried: the first failure is kept and
 * `close()` returns it, so that a caller can say the recording is incomplete.
 */
import { closeSync, fchmodSync, openSync, writeSync } from "node:fs";
import type { TraceLine } from "@authchart/core/record";

export interface TraceFile {
  readonly path: string;
  /** Appends one line (the recorder's `onLine`). */
  readonly write: (line: TraceLine) => void;
  /** Closes the file; the first write that failed, if any. */
  readonly close: () => Error | undefined;
}

/** Opens `path` for a recording; throws what `open(2)` refuses (ENOENT, EACCES, EISDIR). */
export const openTraceFile = (path: string): TraceFile => {
  const fd = openSync(path, "w", 0o600);
  // An existing file keeps its mode through "w": made 0600 like a new one.
  fchmodSync(fd, 0o600);
  let failure: Error | undefined;
  let closed = false;
  return {
    path,
    write: (line) => {
      if (closed || failure !== undefined) return;
      try {
        writeSync(fd, `${JSON.stringify(line)}\n`);
      } catch (error) {
        failure = error instanceof Error ? error : new Error(String(error));
      }
    },
    close: () => {
      if (!closed) {
        closed = true;
        try {
          closeSync(fd);
        } catch (error) {
          failure ??= error instanceof Error ? error : new Error(String(error));
        }
      }
      return failure;
    },
  };
};
