/**
 * The system browser (RFC 8252 §6: native apps use an external user agent). The launch goes
 * through the `open` package, which spawns the platform's opener (`xdg-open`, macOS `open`,
 * PowerShell's `Start-Process` on Windows) with the URL as one argument — never a command line
 * built from a string. Only http(s) URLs are opened: anything else (`file:`, `javascript:`, a
 * custom scheme that starts an app) is refused before a process is spawned.
 */
import { Schema } from "effect";
import open from "open";

/** The URL to open is not http(s). */
export class BrowserLaunchRefused extends Schema.TaggedError<BrowserLaunchRefused>()(
  "BrowserLaunchRefused",
  { scheme: Schema.String },
) {
  override get message() {
    return `refusing to open a ${this.scheme} URL in the browser (only http and https)`;
  }
}

/** The opener could not be started (no `xdg-open`, no PowerShell, ...). */
export class BrowserLaunchFailed extends Schema.TaggedError<BrowserLaunchFailed>()(
  "BrowserLaunchFailed",
  { reason: Schema.String },
) {
  override get message() {
    return `the system browser could not be opened: ${this.reason}`;
  }
}

/** Opens a URL for the user; resolves once the launch is under way. */
export type BrowserLauncher = (url: string) => Promise<void>;

/**
 * The URL as it will be handed to a browser: parsed, http(s) only, serialized again (so control
 * characters and spaces are percent-encoded and nothing reads as an option).
 *
 * @throws BrowserLaunchRefused
 */
export const browserUrl = (url: string): string => {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new BrowserLaunchRefused({ scheme: "(not a URL)" });
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    // The scheme is [a-z][a-z0-9+.-]* by URL parsing: safe to show.
    throw new BrowserLaunchRefused({ scheme: parsed.protocol.slice(0, 40) });
  }
  return parsed.href;
};

/** The default launcher: the system browser through `open`, without waiting for it to exit. */
export const openSystemBrowser: BrowserLauncher = async (url) => {
  const target = browserUrl(url);
  try {
    await open(target, { wait: false });
  } catch (error) {
    throw new BrowserLaunchFailed({
      reason: error instanceof Error ? error.message : "the opener failed",
    });
  }
};
