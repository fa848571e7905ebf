/**
 * Random hostile answers at each step, against the same invariants as the catalogue (one
 * checker, harness.ts): whatever a server says, the call ends typed, nothing leaks, requests
 * stay bounded, nothing runs while idle, the session closes. Bounded runs, no timing assertions.
 */
import type { ScriptedResponse } from "@authchart/testkit";
import fc from "fast-check";
import { afterEach, describe, it } from "vitest";
import {
  deepArray,
  disposeWorlds,
  type PromptInfo,
  prototypeNames,
  startWorld,
  type World,
  type WorldOptions,
} from "./harness.js";

afterEach(disposeWorlds);

const runs = 25;
const settings = { numRuns: runs, endOnFailure: true } as const;
const checkOptions = { maxRequests: 40, expect: "anything-typed", idleMillis: 40 } as const;

const memberNames = [
  ...prototypeNames,
  "resource",
  "authorization_servers",
  "scopes_supported",
  "issuer",
  "authorization_endpoint",
  "token_endpoint",
  "registration_endpoint",
  "code_challenge_methods_supported",
  "client_id",
  "client_secret",
  "client_secret_expires_at",
  "access_token",
  "token_type",
  "expires_in",
  "refresh_token",
  "scope",
  "error",
  "error_description",
];

const hostileValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(...prototypeNames),
  fc.constantFrom("javascript:alert(1)", "file:///etc/passwd", "http://169.254.169.254/", ""),
  fc.constantFrom(-1, 0, 1e308, Number.MAX_SAFE_INTEGER),
  fc.string({ maxLength: 40 }).map((s) => `${s}\r\n${s}`),
  fc.constant("x".repeat(70_000)),
);

/** A JSON body: random JSON, a valid document with one member replaced, prototype keys, deep. */
const hostileBody = (valid: () => Record<string, unknown>) =>
  fc.oneof(
    fc.json({ maxDepth: 3 }),
    fc.string({ maxLength: 200 }),
    fc
      .tuple(fc.constantFrom(...memberNames), hostileValue)
      .map(([name, value]) => JSON.stringify({ ...valid(), [name]: value })),
    fc.tuple(fc.constantFrom(...prototypeNames), hostileValue).map(([name, value]) => {
      const text = JSON.stringify(valid());
      return `{${JSON.stringify(name)}:${JSON.stringify(value) ?? "null"},${text.slice(1)}`;
    }),
    fc.constantFrom(deepArray(50_000), "[]", "null", "{}", '{"a":'),
  );

const hostileResponse = (valid: () => Record<string, unknown>) =>
  fc
    .record({
      status: fc.constantFrom(200, 200, 201, 400, 401, 404, 500, 503, 302),
      contentType: fc.constantFrom(
        "application/json",
        "application/json",
        "application/json; charset=utf-8",
        "text/html",
        "application/problem+json",
        "",
      ),
      body: hostileBody(valid),
    })
    .map(
      ({ status, contentType, body }): ScriptedResponse => ({
        status,
        headers: {
          ...(contentType === "" ? {} : { "content-type": contentType }),
          ...(status === 302 ? { location: "/elsewhere" } : {}),
        },
        body,
      }),
    );

/** Runs one random answer in a fresh world, then the shared checker. */
const runCase = async (options: WorldOptions, setup: (w: World) => void) => {
  try {
    const w = await startWorld({ ...options, session: { http: { timeoutMillis: 1_500 } } });
    setup(w);
    const out = await w.call();
    await w.check(out, checkOptions);
  } finally {
    await disposeWorlds();
  }
};

describe("property: random hostile answers at each step keep every invariant", () => {
  it(`protected-resource metadata (${runs} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...memberNames),
        hostileValue,
        hostileResponse(() => ({})),
        fc.boolean(),
        async (name, value, response, replaceMember) => {
          await runCase(replaceMember ? { prm: { [name]: value } } : {}, (w) => {
            if (!replaceMember) w.route("/prm", response);
          });
        },
      ),
      settings,
    );
  });

  it(`authorization-server metadata (${runs} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...memberNames),
        hostileValue,
        hostileResponse(() => ({})),
        fc.boolean(),
        async (name, value, response, replaceMember) => {
          await runCase(replaceMember ? { asMetadata: { [name]: value } } : {}, (w) => {
            if (!replaceMember) w.route("/.well-known/oauth-authorization-server", response);
          });
        },
      ),
      settings,
    );
  });

  it(`registration (${runs} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        hostileResponse(() => ({
          client_id: "c",
          redirect_uris: ["http://127.0.0.1:33418/callback"],
        })),
        async (response) => {
          await runCase({ registration: () => response }, () => undefined);
        },
      ),
      settings,
    );
  });

  it(`token endpoint (${runs} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...memberNames),
        hostileValue,
        hostileResponse(() => ({})),
        fc.boolean(),
        async (name, value, response, replaceMember) => {
          await runCase(
            {
              token: ({ accessToken, refreshToken }) =>
                replaceMember
                  ? {
                      status: 200,
                      headers: { "content-type": "application/json" },
                      body: JSON.stringify({
                        access_token: accessToken,
                        token_type: "Bearer",
                        expires_in: 3600,
                        refresh_token: refreshToken,
                        [name]: value,
                      }),
                    }
                  : response,
            },
            () => undefined,
          );
        },
      ),
      settings,
    );
  });

  it(`authorization callback (${runs} runs)`, async () => {
    const names = ["code", "state", "iss", "error", "error_description", "foo", ...prototypeNames];
    // The real code only ever travels as `code` (an error field quoting the code the server itself
    // issued is not a leak the client could prevent).
    const param = fc
      .tuple(
        fc.constantFrom(...names),
        fc.oneof(
          fc.constantFrom("<code>", "<state>", "<iss>", "access_denied", ""),
          fc.string({ maxLength: 30 }),
          fc.constantFrom(...prototypeNames),
        ),
      )
      .map(([name, value]): [string, string] => [
        name,
        value === "<code>" && name !== "code" ? "not-the-code" : value,
      ]);
    await fc.assert(
      fc.asyncProperty(fc.array(param, { maxLength: 6 }), async (params) => {
        const callback = (p: PromptInfo) => {
          const query = new URLSearchParams();
          for (const [name, value] of params)
            query.append(
              name,
              value === "<code>"
                ? p.code
                : value === "<state>"
                  ? p.state
                  : value === "<iss>"
                    ? p.iss
                    : value,
            );
          return `${p.redirectUri}?${query}`;
        };
        await runCase({ callback }, () => undefined);
      }),
      settings,
    );
  });

  it(`401/403 challenge from the resource (${runs} runs)`, async () => {
    const paramName = fc.constantFrom(
      "scope",
      "error",
      "resource_metadata",
      "realm",
      ...prototypeNames,
    );
    const paramValue = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom(...prototypeNames, "insufficient_scope", "invalid_token", "{base}/prm"),
    );
    const header = fc.oneof(
      fc.string({ maxLength: 120 }),
      fc
        .array(fc.tuple(paramName, paramValue, fc.boolean()), { maxLength: 5 })
        .map(
          (params) =>
            `Bearer ${params
              .map(([n, v, quoted]) => (quoted ? `${n}="${v.replaceAll('"', "")}"` : `${n}=${v}`))
              .join(", ")}`,
        ),
    );
    await fc.assert(
      fc.asyncProperty(
        header,
        fc.constantFrom(401, 403),
        fc.boolean(),
        async (h, status, always) => {
          await runCase({}, (w) => {
            const value = h.replaceAll("{base}", w.base);
            let sent = 0;
            w.route("/mcp", (req) => {
              const auth = String(req.headers.authorization ?? "");
              const authorized = w.validTokens.has(auth.slice(7));
              if (authorized && (!always || sent++ > 2))
                return { status: 200, headers: { "content-type": "application/json" }, body: "{}" };
              return { status: authorized ? status : 401, headers: { "www-authenticate": value } };
            });
            w.route("/.well-known/oauth-protected-resource/mcp", {
              status: 200,
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ resource: w.mcpUrl, authorization_servers: [w.issuer] }),
            });
          });
        },
      ),
      settings,
    );
  });
});
