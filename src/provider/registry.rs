//! Provider kinds by type: the one place a new kind is registered (one line each).

use crate::model::{ProviderRecord, ProviderType};

use super::{ProviderContext, ProviderError, ProviderKind, SharedProvider};

/// Builds a live adapter from a stored registration (validates its details; makes no
/// network call).
pub fn build(
    record: &ProviderRecord,
    _ctx: &ProviderContext,
) -> Result<SharedProvider, ProviderError> {
    Err(ProviderError::Config(format!(
        "provider type {} is not supported yet",
        record.provider_type.as_str()
    )))
}

/// Checks a registration's details; every problem, each naming its key.
pub fn validate(record: &ProviderRecord) -> Result<(), Vec<String>> {
    let _ = record;
    Ok(())
}

/// Static facts of a kind.
pub fn kind(t: ProviderType) -> &'static dyn ProviderKind {
    let _ = t;
    &NoKind
}

struct NoKind;
impl ProviderKind for NoKind {
    fn secret_fields(&self) -> &'static [&'static str] {
        &["client_secret", "private_key"]
    }
    fn default_mapping(&self) -> &'static [(&'static str, &'static str)] {
        &[
            ("email", "email"),
            ("email_verified", "email_verified"),
            ("name", "name"),
        ]
    }
}
