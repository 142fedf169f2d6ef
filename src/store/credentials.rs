//! Native users' credentials (Cognito's `UserStatus`, the password's Argon2id hash, the
//! SRP salt and verifier, TOTP, MFA preferences): a capability trait of the store, one
//! record per user beside the [`User`] it belongs to. A user without one is federated
//! (`EXTERNAL_PROVIDER`). The password itself is never stored.

use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StoreResult;
use crate::model::User;

/// Cognito's `UserStatusType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UserStatus {
    /// Signed up, waiting for `ConfirmSignUp`.
    Unconfirmed,
    Confirmed,
    /// Imported, or reset by an admin: the user must set a new password by a code.
    ResetRequired,
    /// Created by an admin with a temporary password.
    ForceChangePassword,
    /// A federated user (never stored: a user without a credential record).
    ExternalProvider,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Unconfirmed => "UNCONFIRMED",
            UserStatus::Confirmed => "CONFIRMED",
            UserStatus::ResetRequired => "RESET_REQUIRED",
            UserStatus::ForceChangePassword => "FORCE_CHANGE_PASSWORD",
            UserStatus::ExternalProvider => "EXTERNAL_PROVIDER",
        }
    }
}

/// A password as stored: its Argon2id hash (PHC string) for password sign-ins, and the
/// SRP-6a salt and verifier (hex) for `USER_SRP_AUTH`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct PasswordRecord {
    pub phc: String,
    pub srp_salt_hex: String,
    pub srp_verifier_hex: String,
    pub set_at: i64,
    /// A temporary password (admin-set) stops working at this instant.
    pub expires_at: Option<i64>,
}

impl fmt::Debug for PasswordRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordRecord")
            .field("set_at", &self.set_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A TOTP authenticator (RFC 6238). `verified` once `VerifySoftwareToken` accepted a
/// code; `last_step` is the last time step accepted (a code is good once).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct TotpRecord {
    /// The shared secret, base32 (as `AssociateSoftwareToken` shows it).
    pub secret_b32: String,
    pub verified: bool,
    pub last_step: Option<u64>,
    /// A new secret from `AssociateSoftwareToken` while this verified one is in use:
    /// it replaces this one only once a code of it is verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_secret_b32: Option<String>,
}

impl fmt::Debug for TotpRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TotpRecord")
            .field("verified", &self.verified)
            .field("last_step", &self.last_step)
            .finish_non_exhaustive()
    }
}

/// The credential record of a native user. `version` grows at every write: writers
/// compare-and-set on it, so two concurrent changes never overwrite each other.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Credential {
    pub pool_id: String,
    pub user_id: String,
    pub status: UserStatus,
    pub password: Option<PasswordRecord>,
    #[serde(default)]
    pub totp: Option<TotpRecord>,
    /// `SOFTWARE_TOKEN_MFA` enabled (`SetUserMFAPreference`).
    #[serde(default)]
    pub totp_enabled: bool,
    #[serde(default)]
    pub totp_preferred: bool,
    /// `SMS_MFA` enabled and preferred (`SMSMfaSettings`); the code goes out through
    /// the pool's `CustomSMSSender` hook.
    #[serde(default)]
    pub sms_enabled: bool,
    #[serde(default)]
    pub sms_preferred: bool,
    pub version: u64,
    pub updated_at: i64,
}

/// Outcome of creating a native user.
#[derive(Clone, Debug, PartialEq)]
pub enum CreateNativeOutcome {
    Created,
    /// The username (or id) is taken: nothing was written.
    UsernameExists,
}

/// Native users' credentials, in every backend.
#[async_trait]
pub trait CredentialStore: Send + Sync + 'static {
    /// Creates `user` together with its credential, atomically.
    async fn create_native_user(
        &self,
        user: &User,
        credential: &Credential,
    ) -> StoreResult<CreateNativeOutcome>;
    async fn get_credential(&self, pool: &str, user_id: &str) -> StoreResult<Option<Credential>>;
    /// Stores `credential` when the stored version is `expected` (`None`: there is none
    /// yet) and its user exists; the stored record gets `expected + 1` (or 1). Returns
    /// whether it stored.
    async fn put_credential(
        &self,
        credential: &Credential,
        expected: Option<u64>,
    ) -> StoreResult<bool>;
}

/// The version a compare-and-set write stores.
pub fn next_version(expected: Option<u64>) -> u64 {
    expected.map_or(1, |v| v.saturating_add(1))
}

/// A confirmed user's credential with a verified authenticator, TOTP and SMS on or
/// off: the fixture of the challenge-choice unit tests.
#[cfg(test)]
pub fn confirmed_with_factors(totp_on: bool, sms_on: bool) -> Credential {
    Credential {
        pool_id: "p".into(),
        user_id: "u".into(),
        status: UserStatus::Confirmed,
        password: None,
        totp: Some(TotpRecord {
            secret_b32: "A".into(),
            verified: true,
            last_step: None,
            pending_secret_b32: None,
        }),
        totp_enabled: totp_on,
        totp_preferred: false,
        sms_enabled: sms_on,
        sms_preferred: false,
        version: 1,
        updated_at: 0,
    }
}
