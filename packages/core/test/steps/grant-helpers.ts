/** Helpers shared by the tests of the grants other than the authorization code. */
import { Effect, Redacted } from "effect";
import type { OAuthResponse } from "../../src/services/http.js";

/** A plain JSON answer, as OAuthHttp hands it to a step's process function. */
export const answer = (
  status: number,
  body: unknown,
  url = "https://as.example/token",
): OAuthResponse => ({
  url,
  status,
  headers: { "content-type": "application/json" },
  body: new TextEncoder().encode(JSON.stringify(body)),
});

export const rsaKeyPair = () =>
  crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  );

/** An RS256 JWT signed with WebCrypto (a workload token, an ID token, an ID-JAG). */
export const signJwt = async (
  key: CryptoKey,
  payload: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> => {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const input = `${encode({ alg: "RS256", typ: "JWT", ...header })}.${encode(payload)}`;
  const signature = await crypto.subtle.sign(
    "RSASSA-PKCS1-v1_5",
    key,
    new TextEncoder().encode(input),
  );
  return `${input}.${Buffer.from(signature).toString("base64url")}`;
};

/** The payload of a JWT access token, for checks on what the AS issued. */
export const jwtPayload = (token: Redacted.Redacted<string>) =>
  JSON.parse(
    Buffer.from(Redacted.value(token).split(".")[1] ?? "", "base64url").toString(),
  ) as Record<string, unknown>;

/** The MCP server's status for a GET with this token: 401 when it refuses the token. */
export const resourceStatus = (mcpUrl: string, token: Redacted.Redacted<string>) =>
  Effect.promise(async () => {
    const response = await fetch(mcpUrl, {
      headers: { authorization: `Bearer ${Redacted.value(token)}` },
    });
    await response.body?.cancel();
    return response.status;
  });
