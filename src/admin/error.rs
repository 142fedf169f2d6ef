//! The one error of the admin service. Every interface (the `/admin/v1` JSON API, the
//! Cognito API) renders it its own way; the service never picks a status code.

use crate::store::StoreError;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What an admin operation reports to its caller.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The named thing (`"the pool"`, `"the user"`, ...) does not exist.
    #[error("{0} does not exist")]
    NotFound(&'static str),
    /// The change collides with the current state (a domain of another pool, an id
    /// that exists, a concurrent change).
    #[error("{0}")]
    Conflict(String),
    /// The input is wrong: every problem found, each naming its field.
    #[error("{}", .0.join("; "))]
    Invalid(Vec<String>),
    /// A per-record limit is reached (identity links per user).
    #[error("{0}")]
    LimitExceeded(String),
    /// A step the operation needs is unavailable (the store, key generation); `message`
    /// is a sentence safe to show, the source goes to the log.
    #[error("{message}")]
    Unavailable {
        message: &'static str,
        #[source]
        source: BoxError,
    },
    /// A fault of the gateway (a stored record that cannot be read).
    #[error("{message}")]
    Internal {
        message: &'static str,
        #[source]
        source: BoxError,
    },
}

/// The sentence a caller sees when the store is down.
pub const STORE_UNAVAILABLE: &str = "The store is unavailable; retry later.";

impl AdminError {
    /// One problem with the input.
    pub fn invalid(problem: impl Into<String>) -> Self {
        AdminError::Invalid(vec![problem.into()])
    }

    pub fn unavailable(message: &'static str, source: impl Into<BoxError>) -> Self {
        AdminError::Unavailable {
            message,
            source: source.into(),
        }
    }

    pub fn internal(message: &'static str, source: impl Into<BoxError>) -> Self {
        AdminError::Internal {
            message,
            source: source.into(),
        }
    }
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) | StoreError::AlreadyExists(m) => AdminError::Conflict(m),
            StoreError::Invalid(m) => AdminError::Invalid(vec![m]),
            e @ StoreError::Unavailable(_) => AdminError::unavailable(STORE_UNAVAILABLE, e),
            e @ StoreError::Corrupt(_) => {
                AdminError::internal("A stored record could not be read.", e)
            }
        }
    }
}

pub type AdminResult<T> = Result<T, AdminError>;
