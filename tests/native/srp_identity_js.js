// Signs in to poolgate with amazon-cognito-identity-js's SRP (USER_SRP_AUTH, then
// PASSWORD_VERIFIER), as Amplify does.
// Environment: POOLGATE_ENDPOINT, POOL_ID, CLIENT_ID, USERNAME, PASSWORD.
// stdout: {"ok": {"id_token", "access_token", "refresh_token"}} or {"error": {"Code", "Message"}}
const {
  CognitoUserPool,
  CognitoUser,
  AuthenticationDetails,
} = require("amazon-cognito-identity-js");

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
const done = (v) => {
  process.stdout.write(JSON.stringify(v) + "\n");
};
user.authenticateUser(details, {
  onSuccess: (s) =>
    done({
      ok: {
        id_token: s.getIdToken().getJwtToken(),
        access_token: s.getAccessToken().getJwtToken(),
        refresh_token: s.getRefreshToken().getToken(),
      },
    }),
  onFailure: (e) => done({ error: { Code: e.code || e.name, Message: e.message } }),
  newPasswordRequired: () => done({ error: { Code: "NEW_PASSWORD_REQUIRED" } }),
  totpRequired: () => done({ error: { Code: "SOFTWARE_TOKEN_MFA" } }),
});
