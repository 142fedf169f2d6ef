//! The ephemeral capability of a backend: short-lived state with a TTL (sign-ins in
//! progress, authorization codes, replay caches), consumed by atomic takes.

use std::time::Duration;

use async_trait::async_trait;

use super::StoreResult;

/// What an ephemeral entry is: its namespace within a pool. The names ([`Self::as_str`])
/// are what the backends store (SQLite rows, Redis keys), so they never change; a new
/// kind is a new variant with a new name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EphemeralKind {
    /// A sign-in between `/oauth2/authorize` and the provider's callback.
    Flow,
    /// An authorization code until it is redeemed.
    Code,
    /// A redeemed code, naming the token family it became (replays revoke it).
    CodeUsed,
    /// A token family revoked by a code replay.
    Revoked,
    /// A rotated refresh token still accepted once within the client's retry grace.
    RefreshGrace,
    /// A SAML assertion id already consumed (the replay cache).
    SamlReplay,
    /// A SAML sign-in's session at its IdP (what single logout names).
    SamlSession,
    /// A SAML logout waiting for the IdP's response.
    SamlLogout,
    /// A native (Cognito API) sign-in between its challenges.
    NativeSession,
    /// An SRP exchange between `InitiateAuth` and the password verifier's answer.
    NativeSrp,
    /// An admin console session.
    ConsoleSession,
    /// A console test sign-in between its start and its callback.
    ConsoleTest,
    /// A finished console test's right to remove the user it created.
    ConsoleTestUser,
    /// What a console test sign-in saw, step by step, for the console to show.
    TestTrace,
    /// The CSV uploaded to an import job's `PreSignedUrl`, until the job starts.
    ImportCsv,
    /// A mailed sign-up confirmation code (its hash), per user.
    NativeSignUpCode,
    /// A mailed password-reset code (its hash), per user.
    NativeResetCode,
    /// A console sign-in through a pool between its start and its callback.
    ConsoleSignIn,
    /// A mailed attribute verification code (its hash), per user and address.
    NativeVerifyCode,
}

impl EphemeralKind {
    /// Every kind.
    pub const ALL: [EphemeralKind; 19] = [
        EphemeralKind::Flow,
        EphemeralKind::Code,
        EphemeralKind::CodeUsed,
        EphemeralKind::Revoked,
        EphemeralKind::RefreshGrace,
        EphemeralKind::SamlReplay,
        EphemeralKind::SamlSession,
        EphemeralKind::SamlLogout,
        EphemeralKind::NativeSession,
        EphemeralKind::NativeSrp,
        EphemeralKind::ConsoleSession,
        EphemeralKind::ConsoleTest,
        EphemeralKind::ConsoleTestUser,
        EphemeralKind::TestTrace,
        EphemeralKind::ImportCsv,
        EphemeralKind::NativeSignUpCode,
        EphemeralKind::NativeResetCode,
        EphemeralKind::ConsoleSignIn,
        EphemeralKind::NativeVerifyCode,
    ];

    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            EphemeralKind::Flow => "flow",
            EphemeralKind::Code => "code",
            EphemeralKind::CodeUsed => "code-used",
            EphemeralKind::Revoked => "revoked",
            EphemeralKind::RefreshGrace => "refresh-grace",
            EphemeralKind::SamlReplay => "saml-replay",
            EphemeralKind::SamlSession => "saml-session",
            EphemeralKind::SamlLogout => "saml-logout",
            EphemeralKind::NativeSession => "native-session",
            EphemeralKind::NativeSrp => "native-srp",
            EphemeralKind::ConsoleSession => "console-session",
            EphemeralKind::ConsoleTest => "console-test",
            EphemeralKind::ConsoleTestUser => "console-test-user",
            EphemeralKind::TestTrace => "test-trace",
            EphemeralKind::ImportCsv => "import-csv",
            EphemeralKind::NativeSignUpCode => "native-sign-up-code",
            EphemeralKind::NativeResetCode => "native-reset-code",
            EphemeralKind::ConsoleSignIn => "console-sign-in",
            EphemeralKind::NativeVerifyCode => "native-verify-code",
        }
    }

    /// The kinds only sign-ins in progress need, each living minutes: lost, a user
    /// starts the sign-in again. The SQLite backend (one gateway process per database
    /// file) keeps them in that process's memory ([`super::memory`]); Redis keeps
    /// everything, since any instance may serve the next step.
    pub const fn is_sign_in(self) -> bool {
        matches!(
            self,
            EphemeralKind::Flow | EphemeralKind::Code | EphemeralKind::CodeUsed
        )
    }
}

impl std::fmt::Display for EphemeralKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Short-lived state with a TTL. Keys are namespaced by pool and by [`EphemeralKind`]. Expired entries are never returned.
#[async_trait]
pub trait Ephemeral: Send + Sync + 'static {
    async fn put(
        &self,
        pool: &str,
        kind: EphemeralKind,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> StoreResult<()>;
    /// Stores only when absent (or expired); returns whether it stored (a replay cache).
    async fn put_if_absent(
        &self,
        pool: &str,
        kind: EphemeralKind,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> StoreResult<bool>;
    /// Reads and deletes in one atomic step: two concurrent takes never both succeed.
    async fn take(
        &self,
        pool: &str,
        kind: EphemeralKind,
        key: &str,
    ) -> StoreResult<Option<Vec<u8>>>;
    async fn get(&self, pool: &str, kind: EphemeralKind, key: &str)
    -> StoreResult<Option<Vec<u8>>>;
    /// Takes `take_kind`/`take_key` and stores `value` under `put_kind`/`put_key` in one
    /// atomic step, returning what was taken: a sign-in replaced by the code it produced,
    /// an authorization code replaced by its used-mark (naming the token family it
    /// became). `None`, with nothing changed, when there is nothing to take or the put
    /// key already holds a value.
    #[allow(clippy::too_many_arguments)]
    async fn take_and_put(
        &self,
        pool: &str,
        take_kind: EphemeralKind,
        take_key: &str,
        put_kind: EphemeralKind,
        put_key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> StoreResult<Option<Vec<u8>>>;
}

#[cfg(test)]
mod tests {
    use super::EphemeralKind;

    #[test]
    fn names_are_distinct_and_stable() {
        let names: std::collections::BTreeSet<&str> =
            EphemeralKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), EphemeralKind::ALL.len());
        // What stores written by earlier versions hold.
        assert_eq!(EphemeralKind::Flow.as_str(), "flow");
        assert_eq!(EphemeralKind::CodeUsed.as_str(), "code-used");
        assert_eq!(EphemeralKind::ConsoleSession.to_string(), "console-session");
        let sign_in: Vec<_> = EphemeralKind::ALL
            .into_iter()
            .filter(|k| k.is_sign_in())
            .collect();
        assert_eq!(
            sign_in,
            [
                EphemeralKind::Flow,
                EphemeralKind::Code,
                EphemeralKind::CodeUsed
            ]
        );
    }
}
