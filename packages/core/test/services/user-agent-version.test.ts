/** The User-Agent every request carries names the version that sent it (RFC 9110 §10.1.5). */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { defaultUserAgent } from "../../src/services/http.js";

describe("defaultUserAgent", () => {
  it("names this package's version: a release that bumps the version bumps the header too", () => {
    const { version } = JSON.parse(
      readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
    ) as { version: string };
    expect(defaultUserAgent.startsWith(`authchart/${version} `)).toBe(true);
  });
});
