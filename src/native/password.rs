//! Password hashing: Argon2id (RFC 9106) with the parameters of docs/security.md, run
//! on the blocking pool behind a semaphore, so that hashing never stalls the async
//! runtime and at most a few hashes run at once whatever the load. A sign-in for a
//! user that does not exist (or has no password) verifies against a dummy hash, so
//! that the answer takes as long as for a wrong password.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{OnceCell, Semaphore};

/// Memory cost in KiB (19 MiB), iterations, lanes: OWASP's first Argon2id
/// recommendation. Measured cost: docs/security.md.
pub const M_COST_KIB: u32 = 19_456;
pub const T_COST: u32 = 2;
pub const P_COST: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("password hashing failed")]
    Hash,
    #[error("password hashing was interrupted")]
    Join,
}

/// The hasher shared by every request.
pub struct Hasher {
    permits: Arc<Semaphore>,
    params: Params,
    dummy: OnceCell<String>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("permits", &self.permits.available_permits())
            .finish()
    }
}

impl Default for Hasher {
    fn default() -> Self {
        Self::new(M_COST_KIB, T_COST, P_COST)
    }
}

impl Hasher {
    /// A hasher with these costs. At most one hash per core but one runs at a time
    /// (at least one), leaving a core for token signing and the rest of the gateway.
    pub fn new(m_cost_kib: u32, t_cost: u32, p_cost: u32) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let params = Params::new(m_cost_kib, t_cost, p_cost, None).unwrap_or_default();
        Self {
            permits: Arc::new(Semaphore::new(cores.saturating_sub(1).max(1))),
            params,
            dummy: OnceCell::new(),
        }
    }

    fn argon2(params: Params) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
    }

    /// Runs `f` on the blocking pool once a permit is free.
    async fn bounded<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let _permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| PasswordError::Join)?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|_| PasswordError::Join)
    }

    /// The PHC string (`$argon2id$v=19$m=...`) of a password, with a fresh salt.
    pub async fn hash(&self, password: &SecretString) -> Result<String, PasswordError> {
        let password = password.clone();
        let params = self.params.clone();
        self.bounded(move || {
            let mut salt = [0u8; 16];
            aws_lc_rs::rand::fill(&mut salt).map_err(|_| PasswordError::Hash)?;
            let salt = SaltString::encode_b64(&salt).map_err(|_| PasswordError::Hash)?;
            Self::argon2(params)
                .hash_password(password.expose_secret().as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|_| PasswordError::Hash)
        })
        .await?
    }

    /// Whether `password` matches `phc`. With no hash (an unknown user, a federated
    /// user) it verifies against a dummy hash and answers false, taking the same time.
    pub async fn verify(
        &self,
        phc: Option<&str>,
        password: &SecretString,
    ) -> Result<bool, PasswordError> {
        let (phc, real) = match phc {
            Some(p) => (p.to_owned(), true),
            None => (self.dummy_hash().await?, false),
        };
        let password = password.clone();
        let ok = self
            .bounded(move || {
                let Ok(parsed) = PasswordHash::new(&phc) else {
                    return false;
                };
                // The parameters come from the stored hash: hashes made under older
                // costs keep verifying.
                Argon2::default()
                    .verify_password(password.expose_secret().as_bytes(), &parsed)
                    .is_ok()
            })
            .await?;
        Ok(ok && real)
    }

    async fn dummy_hash(&self) -> Result<String, PasswordError> {
        self.dummy
            .get_or_try_init(|| async {
                let random = SecretString::from(crate::secret::random_token(24));
                self.hash(&random).await
            })
            .await
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> Hasher {
        Hasher::new(256, 1, 1)
    }

    #[tokio::test]
    async fn hashes_verify_and_never_hold_the_password() {
        let h = fast();
        let pw = SecretString::from("Correct-Horse-1".to_owned());
        let phc = h.hash(&pw).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{phc}");
        assert!(!phc.contains("Correct-Horse-1"));
        assert!(h.verify(Some(&phc), &pw).await.unwrap());
        let wrong = SecretString::from("correct-horse-1".to_owned());
        assert!(!h.verify(Some(&phc), &wrong).await.unwrap());
        // Two hashes of one password differ (fresh salts).
        assert_ne!(phc, h.hash(&pw).await.unwrap());
    }

    #[tokio::test]
    async fn no_hash_runs_the_dummy_and_answers_false() {
        let h = fast();
        let pw = SecretString::from("anything".to_owned());
        assert!(!h.verify(None, &pw).await.unwrap());
        assert!(h.dummy.get().is_some(), "the dummy hash was computed");
        assert!(!h.verify(Some("not a phc string"), &pw).await.unwrap());
    }

    #[tokio::test]
    async fn the_default_cost_is_argon2id_19_mib() {
        let h = Hasher::default();
        let started = std::time::Instant::now();
        let phc = h.hash(&SecretString::from("x".to_owned())).await.unwrap();
        // The figure docs/security.md quotes (`--nocapture` shows it).
        eprintln!("argon2id m=19456 t=2 p=1: {:?} per hash", started.elapsed());
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    }
}
