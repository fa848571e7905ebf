/**
 * Header values no header can carry — in the caller's headers or in the stored access token: a
 * typed error, never a header injection, never a crash, no token text in any message.
 */
import { describe, expect, it } from "vitest";
import { TransportError } from "../../../src/errors.js";
import { redirect, seeded, serverUrl } from "../restored-support.js";

const badCallerValues = [
  "one\r\nX-Injected: 1",
  "one\nX-Injected: 1",
  "one\rtwo",
  "nul\0byte",
  "snow☃man",
  "emoji😀",
  "ā", // U+0101
];

describe("caller header values", () => {
  for (const value of badCallerValues)
    for (const [form, make] of [
      ["record", (v: string) => ({ "x-a": v })],
      ["pairs", (v: string) => [["x-a", v]]],
      ["authorization record", (v: string) => ({ Authorization: v })],
    ] as const)
      it(`${JSON.stringify(value)} as ${form}: a TypeError, nothing sent, the value not quoted`, async () => {
        const { session, seen } = await seeded(() => new Response("ok"));
        const error = await session.fetch(serverUrl, { headers: make(value) as HeadersInit }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(TypeError);
        expect(String((error as Error).message)).not.toContain(value);
        expect(seen).toHaveLength(0);
        await session.close();
      });

  it("bad names: a TypeError, nothing sent", async () => {
    const { session, seen } = await seeded(() => new Response("ok"));
    for (const headers of [
      { "x a": "1" },
      { "x:a": "1" },
      { "x\r\ny": "1" },
      { "": "1" },
      { é: "1" },
      [["x\0", "1"]],
    ] as HeadersInit[]) {
      await expect(session.fetch(serverUrl, { headers })).rejects.toBeInstanceOf(TypeError);
    }
    expect(seen).toHaveLength(0);
    await session.close();
  });

  it("values are trimmed of HTTP whitespace as Headers would; inner tabs/spaces kept", async () => {
    const { session, seen } = await seeded(() => new Response("ok"));
    await session.fetch(serverUrl, {
      headers: { "x-a": " \t a \t b\t \r\n", "x-b": "\r\n", "x-c": "latin1 é ÿ" },
    });
    expect(seen[0]?.headers["x-a"]).toBe("a \t b");
    expect(seen[0]?.headers["x-b"]).toBe("");
    expect(seen[0]?.headers["x-c"]).toBe("latin1 é ÿ");
    await session.close();
  });
});

const badTokens = [
  "SECRETzq\r\nX-Injected: 1",
  "SECRETzq\nX-Injected: 1",
  "SECRETzq\0",
  "SECRETzq☃",
  "SECRETzq😀",
  "\r\nX-Injected: SECRETzq",
];

describe("a stored access token no header can carry", () => {
  for (const token of badTokens)
    it(`${JSON.stringify(token)}: TransportError, nothing sent, no token text in the message`, async () => {
      const { session, seen } = await seeded(() => new Response("ok"), { token });
      for (let i = 0; i < 2; i++) {
        // twice: the cached-bearer path must hold as well as the first read
        const error = await session.fetch(serverUrl).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(TransportError);
        const text = `${(error as Error).message} ${JSON.stringify(error)} ${String(error)}`;
        expect(text).not.toContain("SECRETzq");
        expect(text).not.toContain("Injected");
      }
      expect(seen).toHaveLength(0);
      await session.close();
    });

  it("a bad token after a cross-origin hop back: TransportError, other origin never got a bearer", async () => {
    const token = "tok\r\nX-Injected: 1";
    const { session, seen } = await seeded(() => new Response("ok"), { token });
    await expect(session.fetch(serverUrl)).rejects.toBeInstanceOf(TransportError);
    expect(seen).toHaveLength(0);
    await session.close();
  });

  it("surrounding whitespace in the token is trimmed as Headers.set trimmed it ", async () => {
    const { session, seen } = await seeded(() => new Response("ok"), { token: "tok-1 \t" });
    await session.fetch(serverUrl);
    await session.fetch(serverUrl);
    expect(seen.map((s) => s.headers.authorization)).toEqual(["Bearer tok-1", "Bearer tok-1"]);
    // and what fetch is handed is already the normalized value (no trailing whitespace)
    expect(seen.map((s) => (s.raw as Record<string, string>).authorization)).toEqual([
      "Bearer tok-1",
      "Bearer tok-1",
    ]);
    await session.close();
  });

  it("latin-1 token characters pass as they did (ByteString)", async () => {
    const { session, seen } = await seeded(() => new Response("ok"), { token: "tök" });
    await session.fetch(serverUrl);
    await session.fetch(serverUrl);
    expect(seen.map((s) => s.headers.authorization)).toEqual(["Bearer tök", "Bearer tök"]);
    await session.close();
  });

  it("a good token over a redirect chain with a 303 and a caller CRLF-free body: fine", async () => {
    const { session, seen } = await seeded((url) =>
      url === serverUrl ? redirect(303, "/x") : new Response("ok"),
    );
    await session.fetch(serverUrl, { method: "POST", body: "b" });
    expect(seen.map((s) => [s.method, s.headers.authorization])).toEqual([
      ["POST", "Bearer tok-1"],
      ["GET", "Bearer tok-1"],
    ]);
    await session.close();
  });
});
