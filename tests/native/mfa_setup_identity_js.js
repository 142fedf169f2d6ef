// Signs in with amazon-cognito-identity-js (USER_SRP_AUTH, as Amplify does) to a pool
// whose MFA is ON, as a user with no second factor: the library's mfaSetup callback,
// then its associateSoftwareToken and verifySoftwareToken (which answers MFA_SETUP
// itself) with a TOTP code computed here (RFC 6238 with node:crypto).
// Environment: POOLGATE_ENDPOINT, POOL_ID, CLIENT_ID, USERNAME, PASSWORD.
// stdout: {"ok": {"id_token", "access_token", "refresh_token"}, "setup": {"challenge",
// "parameters", "secret", "step"}} or {"error": {"Code", "Message"}, "setup": ...}
const crypto = require("crypto");
const {
  CognitoUserPool,
  CognitoUser,
  AuthenticationDetails,
} = require("amazon-cognito-identity-js");

function base32(s) {
  const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  const out = [];
  for (const c of s.replace(/=+$/, "")) {
    value = (value << 5) | abc.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

function totp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = crypto.createHmac("sha1", base32(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const value = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(value % 1000000).padStart(6, "0");
}

const env = process.env;
const pool = new CognitoUserPool({
  UserPoolId: env.POOL_ID,
  ClientId: env.CLIENT_ID,
  endpoint: env.POOLGATE_ENDPOINT + "/",
});
const user = new CognitoUser({ Username: env.USERNAME, Pool: pool });
const details = new AuthenticationDetails({
  Username: env.USERNAME,
  Password: env.PASSWORD,
});
const setup = {};
const done = (v) => process.stdout.write(JSON.stringify({ ...v, setup }) + "\n");
const failed = (e) => done({ error: { Code: e.code || e.name, Message: e.message } });
const tokens = (s) =>
  done({
    ok: {
      id_token: s.getIdToken().getJwtToken(),
      access_token: s.getAccessToken().getJwtToken(),
      refresh_token: s.getRefreshToken().getToken(),
    },
  });
user.authenticateUser(details, {
  onSuccess: tokens,
  onFailure: failed,
  newPasswordRequired: () => done({ error: { Code: "NEW_PASSWORD_REQUIRED" } }),
  totpRequired: () => done({ error: { Code: "SOFTWARE_TOKEN_MFA" } }),
  mfaSetup: (challenge, parameters) => {
    setup.challenge = challenge;
    setup.parameters = parameters;
    user.associateSoftwareToken({
      onFailure: failed,
      associateSecretCode: (secret) => {
        setup.secret = secret;
        setup.step = Math.floor(Date.now() / 1000 / 30);
        user.verifySoftwareToken(totp(secret, setup.step), "test device", {
          onSuccess: tokens,
          onFailure: failed,
        });
      },
    });
  },
});
