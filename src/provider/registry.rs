//! The provider kinds: the one list of them (one line each), and the one place a type
//! name becomes a [`ProviderTypeName`]. A new kind is a new file declaring its
//! `ProviderKind` plus its line in [`KINDS`] (docs/adding-a-provider-kind.md).

use crate::model::{ProviderRecord, ProviderTypeName};

use super::{ProviderContext, ProviderError, ProviderKind, SharedProvider};
use super::{amazon, apple, facebook, github, google, oauth2, oidc, saml};

/// Every kind, in the order the console offers them.
pub const KINDS: &[&dyn ProviderKind] = &[
    &oidc::Kind,
    &saml::Kind,
    &google::Kind,
    &facebook::Kind,
    &apple::Kind,
    &github::Kind,
    &oauth2::Kind,
    &amazon::Kind,
];

/// The registered kind named `name` (exactly as Cognito spells it).
pub fn find(name: &str) -> Option<&'static dyn ProviderKind> {
    KINDS.iter().copied().find(|k| k.type_name() == name)
}

/// The type name of a registered kind, checked: how a name from a request or a file
/// becomes the record's `provider_type`.
pub fn type_name(name: &str) -> Option<ProviderTypeName> {
    find(name).map(|k| ProviderTypeName::registered(k.type_name()))
}

/// The type name of `kind` (for a caller holding the kind itself).
pub fn name_of(kind: &'static dyn ProviderKind) -> ProviderTypeName {
    ProviderTypeName::registered(kind.type_name())
}

/// Every registered type name, for messages ("one of ...").
pub fn type_names() -> Vec<&'static str> {
    KINDS.iter().map(|k| k.type_name()).collect()
}

fn unsupported(t: &ProviderTypeName) -> String {
    format!("provider type {t} is not supported yet")
}

/// Builds a live adapter from a stored registration (validates its details; makes no
/// network call).
pub fn build(
    record: &ProviderRecord,
    ctx: &ProviderContext,
) -> Result<SharedProvider, ProviderError> {
    find(record.provider_type.as_str())
        .ok_or_else(|| ProviderError::Config(unsupported(&record.provider_type)))?
        .build(record, ctx)
}

/// Checks a registration's details; every problem, each naming its key. No network call.
pub fn validate(record: &ProviderRecord) -> Result<(), Vec<String>> {
    find(record.provider_type.as_str())
        .ok_or_else(|| vec![unsupported(&record.provider_type)])?
        .validate(record)
}

/// Completes a registration with what needs the network (a SAML `metadata_url` is
/// fetched here), before `validate` and `build`.
pub async fn prepare(
    record: &mut ProviderRecord,
    ctx: &ProviderContext,
) -> Result<(), ProviderError> {
    if let Some(fetch) = kind(&record.provider_type).fetched_details() {
        fetch.fetch(record, ctx).await?;
    }
    Ok(())
}

/// Static facts of a kind; a name no kind has any longer (a record stored by another
/// version) gets facts that still mask the common secrets.
pub fn kind(t: &ProviderTypeName) -> &'static dyn ProviderKind {
    find(t.as_str()).unwrap_or(&NoKind)
}

/// Facts for a stored name no registered kind has: the common secret keys are still
/// masked; nothing validates or builds.
struct NoKind;

impl ProviderKind for NoKind {
    fn type_name(&self) -> &'static str {
        ""
    }
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
    fn console(&self) -> &'static super::kind::ConsoleForm {
        static FORM: super::kind::ConsoleForm = super::kind::ConsoleForm {
            title: "",
            register_at: "",
            fields: &[],
            give: super::kind::GIVE_REDIRECT_URI,
        };
        &FORM
    }
    fn validate(&self, record: &ProviderRecord) -> Result<(), Vec<String>> {
        Err(vec![unsupported(&record.provider_type)])
    }
    fn build(
        &self,
        record: &ProviderRecord,
        _: &ProviderContext,
    ) -> Result<SharedProvider, ProviderError> {
        Err(ProviderError::Config(unsupported(&record.provider_type)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        let names = type_names();
        let unique: std::collections::BTreeSet<_> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        for n in &names {
            assert_eq!(
                type_name(n).map(|t| t.as_str().to_owned()),
                Some((*n).to_owned())
            );
        }
        assert!(type_name("Myspace").is_none());
        assert!(
            type_name("google").is_none(),
            "names are exact, as Cognito's"
        );
    }
}
