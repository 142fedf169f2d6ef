//! Provider kinds by type: the one place a new kind is registered (one line each).

use crate::model::{ProviderRecord, ProviderType};

use super::{ProviderContext, ProviderError, ProviderKind, SharedProvider};
use super::{amazon, apple, facebook, github, google, oauth2, oidc, saml};

type BuildFn = fn(&ProviderRecord, &ProviderContext) -> Result<SharedProvider, ProviderError>;
type ValidateFn = fn(&ProviderRecord) -> Result<(), Vec<String>>;

/// One line per kind: its static facts, its validation and its constructor.
fn entry(t: ProviderType) -> Option<(&'static dyn ProviderKind, ValidateFn, BuildFn)> {
    match t {
        ProviderType::OIDC => Some((&oidc::Kind, oidc::validate, oidc::build)),
        ProviderType::Google => Some((&google::Kind, google::validate, google::build)),
        ProviderType::Facebook => Some((&facebook::Kind, facebook::validate, facebook::build)),
        ProviderType::SignInWithApple => Some((&apple::Kind, apple::validate, apple::build)),
        ProviderType::LoginWithAmazon => Some((&amazon::Kind, amazon::validate, amazon::build)),
        ProviderType::SAML => Some((&saml::Kind, saml::validate, saml::build)),
        ProviderType::OAuth2 => Some((&oauth2::Kind, oauth2::validate, oauth2::build)),
        ProviderType::GitHub => Some((&github::Kind, github::validate, github::build)),
    }
}

fn unsupported(t: ProviderType) -> String {
    format!("provider type {} is not supported yet", t.as_str())
}

/// Builds a live adapter from a stored registration (validates its details; makes no
/// network call).
pub fn build(
    record: &ProviderRecord,
    ctx: &ProviderContext,
) -> Result<SharedProvider, ProviderError> {
    let (_, _, build) = entry(record.provider_type)
        .ok_or_else(|| ProviderError::Config(unsupported(record.provider_type)))?;
    build(record, ctx)
}

/// Checks a registration's details; every problem, each naming its key. No network call.
pub fn validate(record: &ProviderRecord) -> Result<(), Vec<String>> {
    let (_, validate, _) =
        entry(record.provider_type).ok_or_else(|| vec![unsupported(record.provider_type)])?;
    validate(record)
}

/// Completes a registration with what needs the network (a SAML `metadata_url` is
/// fetched here), before `validate` and `build`.
pub async fn prepare(
    record: &mut ProviderRecord,
    ctx: &ProviderContext,
) -> Result<(), ProviderError> {
    if record.provider_type == ProviderType::SAML {
        saml::fetch_metadata(record, ctx).await?;
    }
    Ok(())
}

/// Static facts of a kind.
pub fn kind(t: ProviderType) -> &'static dyn ProviderKind {
    entry(t).map(|(k, _, _)| k).unwrap_or(&NoKind)
}

/// Kinds without an adapter yet (SAML until its adapter lands): the common secret keys
/// are still masked.
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
