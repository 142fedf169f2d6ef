//! Linking: `AdminLinkProviderForUser` and `AdminDisableProviderForUser`. A source
//! named by its subject (`Cognito_Subject`, or the provider's own name for it) is
//! linked at once; a source named by another attribute (a SAML attribute such as
//! `email` or an AD FS claim URI, an OIDC claim) is a pending link, made a link by the
//! identity's first sign-in that carries the value (interface.md section 7).

use serde::Deserialize;
use serde_json::json;

use super::{CognitoError, Ctx, OpResult};
use crate::admin::{AdminError, LinkBody};

/// `ProviderUserIdentifierType`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProviderUser {
    pub provider_name: Option<String>,
    pub provider_attribute_name: Option<String>,
    pub provider_attribute_value: Option<String>,
}

/// The attribute names that hold each provider's subject (what links are keyed by):
/// `Cognito_Subject`, or the upstream's own name for it.
const SUBJECT_ATTRIBUTES: &[&str] = &["Cognito_Subject", "sub", "NameID", "id", "user_id"];

/// A source identity as a request names it.
#[derive(Debug, PartialEq, Eq)]
pub enum Source {
    /// By the provider's subject: a link.
    Subject { provider: String, subject: String },
    /// By another attribute of the identity: a pending link.
    Attribute {
        provider: String,
        name: String,
        value: String,
    },
}

/// Reads a source user (`member`: its name in the request, for messages).
pub fn source_of(p: &ProviderUser, member: &str) -> Result<Source, CognitoError> {
    let provider = p
        .provider_name
        .clone()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            CognitoError::invalid_parameter(format!("{member}.ProviderName is required."))
        })?;
    let value = p
        .provider_attribute_value
        .clone()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            CognitoError::invalid_parameter(format!("{member}.ProviderAttributeValue is required."))
        })?;
    let name = p
        .provider_attribute_name
        .as_deref()
        .unwrap_or("Cognito_Subject");
    if name.is_empty() {
        return Err(CognitoError::invalid_parameter(format!(
            "{member}.ProviderAttributeName must not be empty."
        )));
    }
    if SUBJECT_ATTRIBUTES.contains(&name) {
        return Ok(Source::Subject {
            provider,
            subject: value,
        });
    }
    Ok(Source::Attribute {
        provider,
        name: name.to_owned(),
        value,
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LinkRequest {
    pub user_pool_id: String,
    pub destination_user: ProviderUser,
    pub source_user: ProviderUser,
}

pub async fn admin_link_provider_for_user(ctx: Ctx, input: LinkRequest) -> OpResult {
    ctx.admin().pool(&input.user_pool_id).await?;
    let d = &input.destination_user;
    if !d
        .provider_name
        .as_deref()
        .is_some_and(|n| n.eq_ignore_ascii_case("Cognito"))
    {
        return Err(CognitoError::invalid_parameter(
            "DestinationUser.ProviderName must be Cognito.",
        ));
    }
    let username = d
        .provider_attribute_value
        .clone()
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            CognitoError::invalid_parameter("DestinationUser.ProviderAttributeValue is required.")
        })?;
    let pool = &input.user_pool_id;
    let done = match source_of(&input.source_user, "SourceUser")? {
        Source::Subject { provider, subject } => ctx
            .admin()
            .link_identity(pool, &username, LinkBody { provider, subject })
            .await
            .map(drop),
        Source::Attribute {
            provider,
            name,
            value,
        } => ctx
            .admin()
            .link_pending(pool, &username, &provider, &name, &value)
            .await
            .map(drop),
    };
    done.map_err(|e| match e {
        AdminError::Conflict(_) => CognitoError::new(
            "AliasExistsException",
            "Merging is not currently supported, provide a SourceUser and DestinationUser that are not already linked.",
        ),
        other => other.into(),
    })?;
    Ok(json!({}))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DisableProviderRequest {
    pub user_pool_id: String,
    pub user: ProviderUser,
}

/// By the subject: unlinks the identity from its user. By another attribute: removes
/// the pending link made with that same attribute and value (once the identity has
/// signed in, its link is removed by its subject, as in Cognito).
pub async fn admin_disable_provider_for_user(ctx: Ctx, input: DisableProviderRequest) -> OpResult {
    let pool = &input.user_pool_id;
    let done = match source_of(&input.user, "User")? {
        Source::Subject { provider, subject } => {
            ctx.admin()
                .unlink_identity_of(pool, &provider, &subject)
                .await
        }
        Source::Attribute {
            provider,
            name,
            value,
        } => {
            ctx.admin()
                .unlink_pending(pool, &provider, &name, &value)
                .await
        }
    };
    done.map_err(|e| match e {
        AdminError::NotFound("the identity link") => CognitoError::user_not_found(),
        other => other.into(),
    })?;
    Ok(json!({}))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: Option<&str>, value: &str) -> ProviderUser {
        ProviderUser {
            provider_name: Some("Corp".into()),
            provider_attribute_name: name.map(str::to_owned),
            provider_attribute_value: Some(value.into()),
        }
    }

    #[test]
    fn subject_names_link_and_other_names_are_pending() {
        for name in [None, Some("Cognito_Subject"), Some("NameID"), Some("sub")] {
            assert_eq!(
                source_of(&user(name, "s-1"), "SourceUser").unwrap(),
                Source::Subject {
                    provider: "Corp".into(),
                    subject: "s-1".into()
                }
            );
        }
        assert_eq!(
            source_of(&user(Some("email"), "a@b.example"), "SourceUser").unwrap(),
            Source::Attribute {
                provider: "Corp".into(),
                name: "email".into(),
                value: "a@b.example".into()
            }
        );
        assert!(source_of(&user(Some(""), "x"), "SourceUser").is_err());
        assert!(source_of(&user(Some("email"), ""), "SourceUser").is_err());
        let no_provider = ProviderUser {
            provider_name: None,
            ..user(None, "x")
        };
        assert!(source_of(&no_provider, "User").is_err());
    }
}
