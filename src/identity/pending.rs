//! Pending links at sign-in (interface.md section 7, `AdminLinkProviderForUser` by a
//! source attribute): an identity that is not linked yet is looked up among its
//! provider's pending links by the attributes they name, read from what the upstream
//! sent (before mapping), and a match links it, by subject, to the pending link's user.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Gate, IdentityError, Mapped, Resolver, lookup, merge};
use crate::model::{IdentityLink, MAX_LINKS_PER_USER, Pool, ProviderRecord, User};
use crate::provider::UpstreamIdentity;
use crate::store::{ClaimOutcome, PendingLink};

/// Values read per attribute at most (a multi-valued SAML attribute or a claim array):
/// an upstream cannot make a sign-in probe the store without bound.
const MAX_VALUES: usize = 20;
/// A value longer than this is never stored as a pending link's value, so never probed.
pub const MAX_VALUE_LEN: usize = 2048;

/// The values of attribute `name` in what the upstream sent: the upstream attribute
/// the provider maps to pool attribute `name` (Cognito's documented form: "the user
/// pool attribute name", such as `email`), and the upstream attribute called `name`
/// itself (a SAML attribute such as an AD FS claim URI, or an OIDC claim). Strings as
/// they are; numbers and booleans as their JSON text; arrays element by element.
pub fn attribute_values(
    upstream: &UpstreamIdentity,
    rules: &BTreeMap<&str, &str>,
    name: &str,
) -> Vec<String> {
    let mut sources = Vec::with_capacity(2);
    if let Some(up) = rules.get(name) {
        sources.push(*up);
    }
    sources.push(name);
    let mut out: Vec<String> = Vec::new();
    for src in sources {
        let Some(v) = lookup(&upstream.raw, src) else {
            continue;
        };
        let items: Vec<&Value> = match v {
            Value::Array(a) => a.iter().collect(),
            one => vec![one],
        };
        for item in items {
            let text = match item {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => continue,
            };
            if !text.is_empty()
                && text.len() <= MAX_VALUE_LEN
                && !out.contains(&text)
                && out.len() < MAX_VALUES
            {
                out.push(text);
            }
        }
    }
    out
}

/// The pool-attribute -> upstream-attribute rules of a provider: its kind's defaults
/// under its own mapping (as [`super::map_attributes`] applies them).
fn rules<'a>(
    provider: &'a ProviderRecord,
    defaults: &[(&'a str, &'a str)],
) -> BTreeMap<&'a str, &'a str> {
    let mut r: BTreeMap<&str, &str> = defaults.iter().copied().collect();
    for (k, v) in &provider.attribute_mapping {
        r.insert(k.as_str(), v.as_str());
    }
    r
}

impl Resolver<'_> {
    /// The provider's pending links that this identity's attributes match, oldest
    /// first.
    async fn pending_matches(
        &self,
        pool: &Pool,
        provider: &ProviderRecord,
        upstream: &UpstreamIdentity,
        defaults: &[(&str, &str)],
    ) -> Result<Vec<PendingLink>, IdentityError> {
        let names = self
            .store
            .pending_link_attributes(&pool.id, &provider.name)
            .await?;
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let rules = rules(provider, defaults);
        let mut found: Vec<PendingLink> = Vec::new();
        for name in &names {
            for value in attribute_values(upstream, &rules, name) {
                if let Some(p) = self
                    .store
                    .find_pending_link(&pool.id, &provider.name, name, &value)
                    .await?
                {
                    found.push(p);
                }
            }
        }
        found.sort_by(|a, b| {
            (a.created_at_ms, &a.attribute_name, &a.attribute_value).cmp(&(
                b.created_at_ms,
                &b.attribute_name,
                &b.attribute_value,
            ))
        });
        Ok(found)
    }

    /// Links this identity through a pending link it matches, and signs in as that
    /// link's user. `None`: no pending link matches (or the one that did went
    /// meanwhile), and the sign-in goes on as if there were none. Pending links of two
    /// different users matching one identity are an ambiguity poolgate does not guess
    /// at: the sign-in is refused and nothing changes.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn claim_pending(
        &self,
        pool: &Pool,
        provider: &ProviderRecord,
        upstream: &UpstreamIdentity,
        defaults: &[(&str, &str)],
        link: &IdentityLink,
        mapped: &Mapped,
        now: i64,
        gate: Option<&Gate<'_>>,
    ) -> Result<Option<User>, IdentityError> {
        let found = self
            .pending_matches(pool, provider, upstream, defaults)
            .await?;
        let Some(first) = found.first() else {
            return Ok(None);
        };
        if found.iter().any(|p| p.user_id != first.user_id) {
            tracing::warn!(
                pool = %pool.id,
                provider = %provider.name,
                "an identity matches pending links of several users; sign-in refused"
            );
            return Err(IdentityError::AmbiguousLink);
        }
        let Some(target) = self.store.get_user(&pool.id, &first.user_id).await? else {
            return Ok(None);
        };
        // A disabled user gains no identity (interface.md section 6).
        if !target.enabled {
            return Err(IdentityError::Disabled);
        }
        let cs = pool.settings.email_case_sensitive;
        // Pre-authentication before the link is written: a refusal links nothing.
        if let Some(g) = gate {
            let mut preview = target.clone();
            merge(&mut preview, mapped, cs);
            g.pre_authentication(&preview).await?;
        }
        let mut l = link.clone();
        l.user_id = target.id.clone();
        match self
            .store
            .claim_pending_link(first, &l, MAX_LINKS_PER_USER)
            .await?
        {
            ClaimOutcome::Linked => {
                // Other pending links of the same user that this identity matched are
                // fulfilled by the same link.
                for p in &found[1..] {
                    self.store
                        .delete_pending_link(
                            &pool.id,
                            &p.provider_name,
                            &p.attribute_name,
                            &p.attribute_value,
                            Some(&p.user_id),
                        )
                        .await?;
                }
                Ok(Some(self.finish(target, mapped, cs, now, None).await?))
            }
            ClaimOutcome::IdentityTaken(uid) => Ok(Some(
                self.load_and_finish(pool, &uid, mapped, now, gate).await?,
            )),
            ClaimOutcome::Gone => Ok(None),
            ClaimOutcome::LimitReached => Err(IdentityError::TooManyLinks),
            ClaimOutcome::Disabled => Err(IdentityError::Disabled),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn upstream(raw: Value) -> UpstreamIdentity {
        UpstreamIdentity {
            subject: "s".into(),
            raw: raw.as_object().cloned().unwrap_or_default(),
            ..Default::default()
        }
    }

    #[test]
    fn values_come_from_the_mapped_attribute_and_the_named_one() {
        const URI: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress";
        let mut raw = json!({
            "email": "other@corp.example",
            "employee": 1234,
            "groups": ["a", "b", "a", {"x": 1}],
            "empty": "",
        });
        raw[URI] = json!("jdoe@corp.example");
        let up = upstream(raw);
        let rules = BTreeMap::from([("email", URI)]);
        assert_eq!(
            attribute_values(&up, &rules, "email"),
            ["jdoe@corp.example", "other@corp.example"]
        );
        assert_eq!(attribute_values(&up, &rules, URI), ["jdoe@corp.example"]);
        assert_eq!(attribute_values(&up, &rules, "employee"), ["1234"]);
        assert_eq!(attribute_values(&up, &rules, "groups"), ["a", "b"]);
        assert!(attribute_values(&up, &rules, "empty").is_empty());
        assert!(attribute_values(&up, &rules, "missing").is_empty());
    }

    #[test]
    fn values_are_bounded() {
        let many: Vec<String> = (0..100).map(|i| format!("v{i}")).collect();
        let up = upstream(json!({"many": many, "long": "x".repeat(MAX_VALUE_LEN + 1)}));
        let rules = BTreeMap::new();
        assert_eq!(attribute_values(&up, &rules, "many").len(), MAX_VALUES);
        assert!(attribute_values(&up, &rules, "long").is_empty());
    }
}
