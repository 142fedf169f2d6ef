// Verifies poolgate tokens as a backend written for Amazon Cognito does, with the
// aws-jwt-verify library: JwtVerifier (signature by the JWKS, issuer, expiry) plus
// validateCognitoJwtFields (token_use, client id, groups). Run by
// tests/it/cognito_tokens.rs. Input (stdin, JSON): {"authority", "client_id",
// "id_token", "access_token", "groups"?}. Output (stdout, JSON): the verified headers
// and payloads. Exit code 1 with the reason on stderr when a check fails.
//
// The library fetches JWKS over https only; the test gateway is plain-http loopback,
// so the JWKS is fetched here (from the document the authority's discovery names)
// and handed to the verifier's cache.
import { JwtVerifier } from "aws-jwt-verify";
import { validateCognitoJwtFields } from "aws-jwt-verify/cognito-verifier";

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const input = JSON.parse(Buffer.concat(chunks).toString("utf8"));

async function getJson(url) {
  const r = await fetch(url);
  if (r.status !== 200) throw new Error(`${url}: status ${r.status}`);
  return r.json();
}

try {
  const discovery = await getJson(`${input.authority}/.well-known/openid-configuration`);
  if (discovery.issuer !== input.authority) {
    throw new Error(`discovery issuer ${discovery.issuer} is not the authority ${input.authority}`);
  }
  const jwks = await getJson(discovery.jwks_uri);
  const make = (tokenUse) => {
    const v = JwtVerifier.create({
      issuer: discovery.issuer,
      audience: null,
      jwksUri: discovery.jwks_uri,
      customJwtCheck: ({ header, payload }) => {
        validateCognitoJwtFields(payload, {
          tokenUse,
          clientId: input.client_id,
          groups: input.groups ?? null,
        });
        // Spring Security's default decoder refuses any typ on access tokens it does
        // not know; Cognito sends none.
        if (tokenUse === "access" && "typ" in header) {
          throw new Error(`access token header has typ ${header.typ}`);
        }
      },
    });
    v.cacheJwks(jwks);
    return v;
  };
  const out = {};
  for (const [name, use] of [["id_token", "id"], ["access_token", "access"]]) {
    if (!input[name]) continue;
    const payload = await make(use).verify(input[name]);
    const header = JSON.parse(Buffer.from(input[name].split(".")[0], "base64url").toString());
    out[name] = { header, payload };
  }
  process.stdout.write(JSON.stringify(out));
} catch (e) {
  process.stderr.write(`${e.name}: ${e.message}\n`);
  process.exit(1);
}
