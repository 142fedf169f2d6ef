// Drives poolgate's Cognito API with the AWS SDK for JavaScript v3
// (@aws-sdk/client-cognito-identity-provider), as an admin's Node.js script would: the
// SDK's own SigV4 signer, serializer and error parser, pointed at the gateway by its
// endpoint.
//
// Environment: POOLGATE_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_DEFAULT_REGION.
//   stdin:  [["Operation", {params}], ...]
//   stdout: [{"ok": answer without $metadata} | {"error": {"Code", "Message"}, "status"}]
import * as sdk from "@aws-sdk/client-cognito-identity-provider";

const input = JSON.parse(await new Promise((resolve) => {
  let data = "";
  process.stdin.on("data", (c) => (data += c));
  process.stdin.on("end", () => resolve(data));
}));

const client = new sdk.CognitoIdentityProviderClient({
  endpoint: process.env.POOLGATE_ENDPOINT,
  region: process.env.AWS_DEFAULT_REGION || "eu-west-1",
  credentials: {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID,
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
  },
  maxAttempts: 1,
});

// Dates as epoch seconds, as the boto3 runner prints them.
const plain = (v) => JSON.parse(JSON.stringify(v, (k, x) => {
  if (k === "$metadata") return undefined;
  if (typeof x === "string" && /^\d{4}-\d\d-\d\dT/.test(x) && !Number.isNaN(Date.parse(x))) {
    return Date.parse(x) / 1000;
  }
  return x;
}));

const out = [];
for (const [op, params] of input) {
  const Command = sdk[`${op}Command`];
  if (!Command) {
    out.push({ error: { Code: "NoSuchCommand", Message: op }, status: 0 });
    continue;
  }
  try {
    out.push({ ok: plain(await client.send(new Command(params))) });
  } catch (e) {
    out.push({
      error: { Code: e.name, Message: e.message },
      status: e.$metadata?.httpStatusCode ?? 0,
    });
  }
}
process.stdout.write(JSON.stringify(out));
