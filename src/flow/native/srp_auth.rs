//! `USER_SRP_AUTH` and its `PASSWORD_VERIFIER` step. The server's half of the exchange
//! is kept under the hash of the `SECRET_BLOCK` it hands out, so that the second step
//! needs no `Session` (as Cognito's) and is good once. An unknown user gets a
//! challenge that looks the same (a stable fake salt), and fails at the proof.

use std::collections::BTreeMap;

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use num_bigint::BigUint;
use serde::{Deserialize, Serialize};

use super::challenge::required;
use super::{AuthOutcome, Caller, NativeError, SESSION_TTL, bad_credentials, throttle_keys};
use crate::flow::{Flow, FlowError, PoolCtx};
use crate::model::AppClient;
use crate::native::srp;
use crate::secret::{random_token, sha256_hex};
use crate::store::EphemeralKind;
use crate::store::credentials::UserStatus;

/// How far the client's `TIMESTAMP` may be from the gateway's clock.
const MAX_SKEW_S: i64 = 300;

#[derive(Serialize, Deserialize)]
struct SrpState {
    client_id: String,
    /// `None` for an unknown user: the proof then always fails.
    user_id: Option<String>,
    username: String,
    verifier_hex: String,
    a_hex: String,
    b_hex: String,
    big_b_hex: String,
}

fn hex_int(h: &str) -> Result<BigUint, NativeError> {
    BigUint::parse_bytes(h.as_bytes(), 16).ok_or_else(|| {
        NativeError::Flow(FlowError::internal(
            "read a stored SRP number",
            "not hexadecimal",
        ))
    })
}

impl Flow {
    /// `InitiateAuth` with `USER_SRP_AUTH`: answers `PASSWORD_VERIFIER`.
    pub async fn srp_auth(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        params: &BTreeMap<String, String>,
        caller: &Caller,
    ) -> Result<AuthOutcome, NativeError> {
        let username = required(params, "USERNAME")?;
        let a_hex = required(params, "SRP_A")?;
        self.check_secret_hash(
            client,
            username,
            params.get("SECRET_HASH").map(String::as_str),
        )?;
        let big_a = srp::parse_a(a_hex)
            .map_err(|_| NativeError::InvalidParameter("SRP_A is not valid".into()))?;
        let pool = &ctx.pool.id;
        self.check_throttle(&throttle_keys(pool, username, caller))?;
        let found = self.native_user(pool, username).await?;
        match &found {
            Some((user, Some(cred))) => {
                self.pre_authentication(ctx, client, user, cred.status, caller.metadata.as_ref())
                    .await?;
                // As for a password: a user who must reset it gets no challenge.
                if cred.status == UserStatus::ResetRequired && user.enabled {
                    return Err(NativeError::PasswordResetRequired);
                }
            }
            Some((_, None)) => {}
            None => {
                self.pre_authentication_unknown(ctx, client, username, caller.metadata.as_ref())
                    .await?;
            }
        }
        let real = found.and_then(|(user, cred)| {
            let p = cred?.password?;
            Some((user, p))
        });
        let (user_id, user_name, salt, verifier) = match real {
            Some((user, p)) => (
                Some(user.id),
                user.username,
                p.srp_salt_hex,
                p.srp_verifier_hex,
            ),
            None => {
                // A salt derived from the name, so that asking again answers the same;
                // the verifier is of a random password nobody knows.
                let mac = hmac::sign(
                    &hmac::Key::new(hmac::HMAC_SHA256, &self.native.fake_salt_key),
                    format!("{pool}\n{}", username.to_ascii_lowercase()).as_bytes(),
                );
                let mut salt = mac.as_ref()[..16].to_vec();
                if salt[0] < 0x10 {
                    salt[0] |= 0x10;
                }
                let salt = hex::encode(salt);
                let (name, s, user) = (
                    srp::pool_name(pool).to_owned(),
                    salt.clone(),
                    username.to_owned(),
                );
                let v = tokio::task::spawn_blocking(move || {
                    srp::verifier(&name, &user, &random_token(24), &s)
                })
                .await
                .map_err(|e| FlowError::internal("compute a decoy SRP verifier", e))?;
                (None, username.to_owned(), salt, v)
            }
        };
        let v = verifier.clone();
        let eph = tokio::task::spawn_blocking(move || srp::server_ephemeral(&v))
            .await
            .map_err(|e| FlowError::internal("compute the SRP server ephemeral", e))?;
        let mut block = [0u8; 48];
        aws_lc_rs::rand::fill(&mut block)
            .map_err(|e| FlowError::internal("draw the SRP secret block", e))?;
        let secret_block = STANDARD.encode(block);
        let big_b_hex = eph.big_b.to_str_radix(16);
        let state = SrpState {
            client_id: client.client_id.clone(),
            user_id,
            username: user_name.clone(),
            verifier_hex: verifier,
            a_hex: big_a.to_str_radix(16),
            b_hex: eph.b.to_str_radix(16),
            big_b_hex: big_b_hex.clone(),
        };
        let bytes = serde_json::to_vec(&state)
            .map_err(|e| FlowError::internal("encode the SRP state", e))?;
        self.store
            .put(
                pool,
                EphemeralKind::NativeSrp,
                &sha256_hex(&secret_block),
                &bytes,
                SESSION_TTL,
            )
            .await?;
        let mut parameters = BTreeMap::new();
        parameters.insert("SALT".into(), salt);
        parameters.insert("SECRET_BLOCK".into(), secret_block);
        parameters.insert("SRP_B".into(), big_b_hex);
        parameters.insert("USERNAME".into(), user_name.clone());
        parameters.insert("USER_ID_FOR_SRP".into(), user_name);
        Ok(AuthOutcome::Challenge {
            name: "PASSWORD_VERIFIER",
            session: None,
            parameters,
        })
    }

    /// `PASSWORD_VERIFIER`: checks the client's proof of the password.
    pub(super) async fn password_verifier(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        responses: &BTreeMap<String, String>,
        caller: &Caller,
    ) -> Result<AuthOutcome, NativeError> {
        let block_b64 = required(responses, "PASSWORD_CLAIM_SECRET_BLOCK")?;
        let signature = required(responses, "PASSWORD_CLAIM_SIGNATURE")?;
        let timestamp = required(responses, "TIMESTAMP")?;
        let username = required(responses, "USERNAME")?;
        self.check_secret_hash(
            client,
            username,
            responses.get("SECRET_HASH").map(String::as_str),
        )?;
        if block_b64.len() > 1024 || signature.len() > 256 {
            return Err(bad_credentials());
        }
        let pool = &ctx.pool.id;
        let Some(bytes) = self
            .store
            .take(pool, EphemeralKind::NativeSrp, &sha256_hex(block_b64))
            .await?
        else {
            return Err(bad_credentials());
        };
        let state: SrpState = serde_json::from_slice(&bytes)
            .map_err(|e| FlowError::internal("decode the SRP state", e))?;
        if state.client_id != client.client_id || !state.username.eq_ignore_ascii_case(username) {
            return Err(bad_credentials());
        }
        let keys = throttle_keys(pool, &state.username, caller);
        self.check_throttle(&keys)?;
        let fresh = srp::parse_timestamp(timestamp)
            .is_some_and(|t| (t - self.clock.now()).abs() <= MAX_SKEW_S);
        if !fresh {
            return Err(NativeError::NotAuthorized(
                "The TIMESTAMP is not valid or too far from the current time.".into(),
            ));
        }
        let block = STANDARD.decode(block_b64).map_err(|_| bad_credentials())?;
        let a = hex_int(&state.a_hex)?;
        let eph = srp::ServerEphemeral {
            b: hex_int(&state.b_hex)?,
            big_b: hex_int(&state.big_b_hex)?,
        };
        let verifier = state.verifier_hex.clone();
        let key = tokio::task::spawn_blocking(move || srp::server_key(&a, &eph, &verifier))
            .await
            .map_err(|e| FlowError::internal("compute the SRP session key", e))?;
        let pool_name = srp::pool_name(pool);
        let proved = key.ok().is_some_and(|k| {
            let expected = srp::signature(&k, pool_name, &state.username, &block, timestamp);
            srp::check_signature(&expected, signature).is_ok()
        });
        let user_id = match (&state.user_id, proved) {
            (Some(id), true) => id.clone(),
            _ => {
                self.record_failure(&keys);
                return Err(bad_credentials());
            }
        };
        self.record_success(&keys);
        let Some(user) = self.store.get_user(pool, &user_id).await? else {
            return Err(bad_credentials());
        };
        let Some(cred) = self.store.get_credential(pool, &user_id).await? else {
            return Err(bad_credentials());
        };
        // A password changed since the challenge makes the proof stale.
        if cred.password.as_ref().map(|p| p.srp_verifier_hex.as_str())
            != Some(state.verifier_hex.as_str())
        {
            return Err(bad_credentials());
        }
        self.after_password(ctx, client, &user, &cred, caller, false)
            .await
    }
}
