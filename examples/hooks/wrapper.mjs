// Runs a Cognito Lambda trigger handler, unchanged, behind poolgate's signed HTTP call.
// HOOK_SECRET=<settings.hook_secret> PORT=3001 node wrapper.mjs
import http from "node:http";
import crypto from "node:crypto";
import { handler } from "./index.mjs"; // the Lambda function's own file

const secret = process.env.HOOK_SECRET ?? "";

function signed(header, body) {
  const p = Object.fromEntries((header ?? "").split(",").map((kv) => kv.split("=", 2)));
  const mac = crypto.createHmac("sha256", secret).update(`${p.t}.`).update(body).digest("hex");
  const fresh = Math.abs(Date.now() / 1000 - Number(p.t)) < 300;
  return fresh && p.v1?.length === 64 && crypto.timingSafeEqual(Buffer.from(mac), Buffer.from(p.v1));
}

// Async handlers, and old ones that call back (callback or context.done/succeed/fail).
const run = (event) =>
  new Promise((ok, ko) => {
    const done = (err, res) => (err ? ko(err) : ok(res));
    const context = { done, succeed: ok, fail: ko };
    const p = handler(event, context, done);
    if (p && typeof p.then === "function") p.then(ok, ko);
  });

http
  .createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", async () => {
      const body = Buffer.concat(chunks);
      const reply = (status, doc) =>
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(doc));
      if (!signed(req.headers["x-poolgate-signature"], body)) return reply(401, {});
      try {
        reply(200, await run(JSON.parse(body)));
      } catch (e) {
        // A thrown error, as Lambda reports it: Cognito's "<Trigger> failed with error ...".
        reply(400, { errorType: e?.name ?? "Error", errorMessage: String(e?.message ?? e) });
      }
    });
  })
  .listen(Number(process.env.PORT ?? 3001), "127.0.0.1");
