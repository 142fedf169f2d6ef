//! Mailed one-time codes of native users: the sign-up confirmation code and the
//! attribute verification code (24 hours) and the password-reset code (1 hour), as
//! Cognito's. A code is stored only as a hash in
//! the ephemeral store, under its user; a new one replaces the old; five wrong tries
//! spend it; the right one is taken once.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::NativeError;
use crate::flow::{Flow, FlowError};
use crate::secret::{constant_time_eq, sha256_hex};
use crate::store::EphemeralKind;

/// Ephemeral kinds of the codes.
pub const KIND_SIGN_UP: EphemeralKind = EphemeralKind::NativeSignUpCode;
pub const KIND_RESET: EphemeralKind = EphemeralKind::NativeResetCode;
pub const KIND_VERIFY_ATTRIBUTE: EphemeralKind = EphemeralKind::NativeVerifyCode;
/// Lifetimes (Cognito: 24 hours for sign-up and attribute verification, 1 hour for a
/// reset).
pub const SIGN_UP_TTL: Duration = Duration::from_secs(86_400);
pub const RESET_TTL: Duration = Duration::from_secs(3_600);
/// Wrong codes allowed before the code is spent.
const MAX_ATTEMPTS: u32 = 5;

#[derive(Serialize, Deserialize)]
struct CodeRecord {
    code_hash: String,
    expires_at: i64,
    attempts: u32,
}

fn code_hash(user_id: &str, code: &str) -> String {
    sha256_hex(&format!("{user_id}\n{code}"))
}

/// A new 6-digit code.
pub(super) fn new_code() -> Result<String, NativeError> {
    let mut b = [0u8; 4];
    aws_lc_rs::rand::fill(&mut b).map_err(|e| FlowError::internal("draw a code", e))?;
    Ok(format!("{:06}", u32::from_le_bytes(b) % 1_000_000))
}

impl Flow {
    /// Makes and stores a new code of `kind` for a user (replacing any earlier one).
    pub(crate) async fn issue_user_code(
        &self,
        pool: &str,
        kind: EphemeralKind,
        user_id: &str,
    ) -> Result<String, NativeError> {
        let ttl = if kind == KIND_RESET {
            RESET_TTL
        } else {
            SIGN_UP_TTL
        };
        let code = new_code()?;
        let rec = CodeRecord {
            code_hash: code_hash(user_id, &code),
            expires_at: self.clock.now() + ttl.as_secs() as i64,
            attempts: 0,
        };
        let bytes = serde_json::to_vec(&rec)
            .map_err(|e| FlowError::internal("encode the code record", e))?;
        self.store.put(pool, kind, user_id, &bytes, ttl).await?;
        Ok(code)
    }

    /// Checks a presented code without spending it; a wrong one counts.
    pub(crate) async fn check_code(
        &self,
        pool: &str,
        kind: EphemeralKind,
        user_id: &str,
        code: &str,
    ) -> Result<(), NativeError> {
        let Some(bytes) = self.store.get(pool, kind, user_id).await? else {
            return Err(NativeError::ExpiredCode);
        };
        let mut rec: CodeRecord =
            serde_json::from_slice(&bytes).map_err(|_| NativeError::ExpiredCode)?;
        let now = self.clock.now();
        if rec.expires_at <= now {
            return Err(NativeError::ExpiredCode);
        }
        let ok = code.len() <= 16
            && constant_time_eq(
                code_hash(user_id, code).as_bytes(),
                rec.code_hash.as_bytes(),
            );
        if ok {
            return Ok(());
        }
        rec.attempts += 1;
        if rec.attempts >= MAX_ATTEMPTS {
            self.store.take(pool, kind, user_id).await?;
        } else {
            let left = Duration::from_secs((rec.expires_at - now).max(1) as u64);
            let bytes = serde_json::to_vec(&rec)
                .map_err(|e| FlowError::internal("encode the code record", e))?;
            self.store.put(pool, kind, user_id, &bytes, left).await?;
        }
        Err(NativeError::CodeMismatch)
    }

    /// Spends a code that [`Flow::check_code`] accepted: only one caller gets it.
    pub(crate) async fn spend_code(
        &self,
        pool: &str,
        kind: EphemeralKind,
        user_id: &str,
        code: &str,
    ) -> Result<(), NativeError> {
        let bytes = self
            .store
            .take(pool, kind, user_id)
            .await?
            .ok_or(NativeError::ExpiredCode)?;
        let rec: CodeRecord =
            serde_json::from_slice(&bytes).map_err(|_| NativeError::ExpiredCode)?;
        if !constant_time_eq(
            code_hash(user_id, code).as_bytes(),
            rec.code_hash.as_bytes(),
        ) {
            return Err(NativeError::CodeMismatch);
        }
        Ok(())
    }
}
