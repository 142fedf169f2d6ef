//! Turns a verified upstream identity into a pool user: attribute mapping,
//! normalization, and the linking policy (interface.md section 6).

pub mod gate;
pub mod pending;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::clock::SharedClock;
use crate::hooks::HookError;
use crate::model::{IdentityLink, LinkPolicy, MAX_LINKS_PER_USER, Pool, ProviderRecord, User};
use crate::provider::UpstreamIdentity;
use crate::store::{CreateUserOutcome, LinkOutcome, SharedBackend, StoreError, UserPatch};

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the user is disabled")]
    Disabled,
    #[error("the user already has the maximum of {MAX_LINKS_PER_USER} linked identities")]
    TooManyLinks,
    #[error("the upstream identity has no subject")]
    NoSubject,
    /// The identity matches pending links of more than one user.
    #[error("the identity matches pending links of several users")]
    AmbiguousLink,
    /// A hook refused the sign-in or did not answer usably.
    #[error(transparent)]
    Hook(#[from] HookError),
}

pub use gate::Gate;

/// The pool-side attributes of one sign-in.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mapped {
    pub email: Option<String>,
    pub email_verified: bool,
    pub attributes: BTreeMap<String, Value>,
}

/// Pool attributes that are not copied into `attributes` (they have their own fields).
const RESERVED: &[&str] = &[
    "email",
    "email_verified",
    "sub",
    "username",
    "identities",
    "groups",
];

/// Compares emails as the pool says: trimmed, and ASCII-lower-cased unless
/// case-sensitive. Only ASCII letters are folded: Unicode lower-casing maps characters
/// such as U+212A (KELVIN SIGN) onto `k`, which would let an upstream that lets its
/// users pick such an address collide with another user's address.
pub fn normalize_email(email: &str, case_sensitive: bool) -> String {
    let t = email.trim();
    if case_sensitive {
        t.to_owned()
    } else {
        t.to_ascii_lowercase()
    }
}

/// Whether an address may link an identity to an existing user by email: plain ASCII
/// only (internationalized addresses have several spellings of one mailbox, and no
/// upstream's "verified" says which of them it checked).
pub fn links_by_email(email: &str) -> bool {
    let t = email.trim();
    !t.is_empty() && t.is_ascii()
}

/// Reads an upstream attribute by name, or by a dotted path (`picture.data.url`).
fn lookup<'a>(raw: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(v) = raw.get(name) {
        return Some(v);
    }
    let mut parts = name.split('.');
    let mut cur = raw.get(parts.next()?)?;
    for p in parts {
        cur = cur.get(p)?;
    }
    Some(cur)
}

/// Applies `mapping` (pool attribute -> upstream attribute) over `defaults`. Whether the
/// email is verified always comes from the adapter (which knows whether the upstream
/// can assert it), never from a mapping, and only for the email the upstream sent.
pub fn map_attributes(
    upstream: &UpstreamIdentity,
    mapping: &BTreeMap<String, String>,
    defaults: &[(&str, &str)],
) -> Mapped {
    let mut rules: BTreeMap<&str, &str> = defaults.iter().copied().collect();
    for (k, v) in mapping {
        rules.insert(k.as_str(), v.as_str());
    }
    let mut out = Mapped::default();
    for (pool_attr, up_attr) in rules {
        let Some(v) = lookup(&upstream.raw, up_attr) else {
            continue;
        };
        let v = match v {
            Value::Null => continue,
            Value::String(s) if s.trim().is_empty() => continue,
            other => other.clone(),
        };
        if pool_attr == "email" {
            if let Value::String(s) = &v {
                out.email = Some(s.trim().to_owned());
            }
        } else if !RESERVED.contains(&pool_attr) {
            out.attributes.insert(pool_attr.to_owned(), v);
        }
    }
    if out.email.is_none() {
        out.email = upstream.email.clone().filter(|e| !e.trim().is_empty());
    }
    out.email_verified = upstream.email_verified
        && matches!((&out.email, &upstream.email), (Some(a), Some(b)) if a.trim().eq_ignore_ascii_case(b.trim()));
    for (attr, v) in [
        ("name", &upstream.name),
        ("given_name", &upstream.given_name),
        ("family_name", &upstream.family_name),
        ("picture", &upstream.picture),
    ] {
        if let Some(v) = v.as_ref().filter(|s| !s.trim().is_empty()) {
            out.attributes
                .entry(attr.to_owned())
                .or_insert_with(|| Value::String(v.clone()));
        }
    }
    out
}

/// Merges this sign-in's attributes into the user; an attribute not sent is kept. The
/// upstream's groups are not the pool's groups (`cognito:groups`): a provider's
/// `attribute_mapping` may copy them into a `custom:` attribute.
fn merge(user: &mut User, mapped: &Mapped, case_sensitive: bool) -> bool {
    let before = user.clone();
    for (k, v) in &mapped.attributes {
        user.attributes.insert(k.clone(), v.clone());
    }
    if let Some(email) = &mapped.email {
        let norm = normalize_email(email, case_sensitive);
        if user.email_norm.as_deref() == Some(norm.as_str()) {
            user.email_verified = user.email_verified || mapped.email_verified;
        } else {
            user.email_verified = mapped.email_verified;
        }
        user.email = Some(email.clone());
        user.email_norm = Some(norm);
    }
    *user != before
}

/// Resolves the pool user of a sign-in, creating or linking as the policy says.
pub struct Resolver<'a> {
    pub store: &'a SharedBackend,
    pub clock: &'a SharedClock,
}

impl Resolver<'_> {
    pub async fn resolve(
        &self,
        pool: &Pool,
        provider: &ProviderRecord,
        upstream: &UpstreamIdentity,
        defaults: &[(&str, &str)],
    ) -> Result<User, IdentityError> {
        self.resolve_gated(pool, provider, upstream, defaults, None)
            .await
    }

    /// [`Resolver::resolve`] running the pool's hooks through `gate`: pre-sign-up before
    /// a new user is created (it may refuse, verify the email, or link the identity
    /// onto an existing user through the admin API before answering),
    /// pre-authentication before the user's record is written, and post-confirmation
    /// just after a new user is created.
    pub async fn resolve_gated(
        &self,
        pool: &Pool,
        provider: &ProviderRecord,
        upstream: &UpstreamIdentity,
        defaults: &[(&str, &str)],
        gate: Option<&Gate<'_>>,
    ) -> Result<User, IdentityError> {
        if upstream.subject.trim().is_empty() {
            return Err(IdentityError::NoSubject);
        }
        let cs = pool.settings.email_case_sensitive;
        let mapped = map_attributes(upstream, &provider.attribute_mapping, defaults);
        let now = self.clock.now();
        let link = IdentityLink {
            pool_id: pool.id.clone(),
            provider_name: provider.name.clone(),
            provider_type: provider.provider_type.clone(),
            subject: upstream.subject.clone(),
            issuer: upstream.issuer.clone(),
            user_id: String::new(),
            primary: false,
            created_at_ms: self.clock.now_ms(),
        };

        // 1. Already linked.
        if let Some(existing) = self
            .store
            .find_identity(&pool.id, &provider.name, &upstream.subject)
            .await?
            && let Some(user) = self.store.get_user(&pool.id, &existing.user_id).await?
        {
            return self.finish(user, &mapped, cs, now, gate).await;
        }

        // 1b. A pending link (AdminLinkProviderForUser by a source attribute) that this
        // identity's attributes match: linked by subject to that link's user.
        if let Some(user) = self
            .claim_pending(
                pool, provider, upstream, defaults, &link, &mapped, now, gate,
            )
            .await?
        {
            return Ok(user);
        }

        // 2. Link by verified email, only to a user whose own email is verified.
        if provider.link_by_email == LinkPolicy::Verified
            && mapped.email_verified
            && let Some(email) = &mapped.email
            && links_by_email(email)
        {
            {
                let norm = normalize_email(email, cs);
                let candidates = self.store.find_users_by_email(&pool.id, &norm).await?;
                if let Some(target) = candidates.into_iter().find(|u| u.email_verified) {
                    // A disabled user gains no identity meanwhile (interface.md
                    // section 6): refused before anything is written.
                    if !target.enabled {
                        return Err(IdentityError::Disabled);
                    }
                    // Pre-authentication before the link is written: a refusal links
                    // nothing.
                    if let Some(g) = gate {
                        let mut preview = target.clone();
                        merge(&mut preview, &mapped, cs);
                        g.pre_authentication(&preview).await?;
                    }
                    let mut l = link.clone();
                    l.user_id = target.id.clone();
                    match self.store.link_identity(&l, MAX_LINKS_PER_USER).await? {
                        LinkOutcome::Linked | LinkOutcome::AlreadyLinked => {
                            return self.finish(target, &mapped, cs, now, None).await;
                        }
                        LinkOutcome::LinkedToOther(uid) => {
                            return self.load_and_finish(pool, &uid, &mapped, now, gate).await;
                        }
                        LinkOutcome::LimitReached => return Err(IdentityError::TooManyLinks),
                        LinkOutcome::Disabled => return Err(IdentityError::Disabled),
                        LinkOutcome::NoSuchUser => {}
                    }
                }
            }
        }

        // 3. A new user, created together with its first link.
        let base = format!("{}_{}", provider.name, upstream.subject);
        let mut verify_email = false;
        if let Some(g) = gate {
            let mut preview = new_user(pool, base.clone(), now);
            merge(&mut preview, &mapped, cs);
            if let Some(answer) = g.pre_sign_up(&preview).await? {
                verify_email = answer.auto_verify_email == Some(true);
                // The hook may have linked this identity onto an existing user (the
                // admin API's link, or AdminLinkProviderForUser): sign in as that user.
                if let Some(existing) = self
                    .store
                    .find_identity(&pool.id, &provider.name, &upstream.subject)
                    .await?
                {
                    return self
                        .load_and_finish(pool, &existing.user_id, &mapped, now, gate)
                        .await;
                }
                // ... or made a pending link (by a source attribute) that it matches.
                if let Some(user) = self
                    .claim_pending(
                        pool, provider, upstream, defaults, &link, &mapped, now, gate,
                    )
                    .await?
                {
                    return Ok(user);
                }
            }
        }
        for attempt in 0..3 {
            let username = if attempt == 0 {
                base.clone()
            } else {
                format!("{base}_{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
            };
            let mut user = new_user(pool, username, now);
            merge(&mut user, &mapped, cs);
            // `autoVerifyEmail` of the pre-sign-up hook (`autoConfirmUser` changes
            // nothing: federated users are confirmed by their provider).
            if verify_email && user.email.is_some() {
                user.email_verified = true;
            }
            // No pre-authentication: Cognito runs `PreAuthentication` on a federated
            // user's later sign-ins only; a first one is gated by pre-sign-up above.
            let mut l = link.clone();
            l.user_id = user.id.clone();
            l.primary = true;
            match self.store.create_user_with_identity(&user, &l).await {
                Ok(CreateUserOutcome::Created) => {
                    // Cognito's post-confirmation of a federated user, just after it
                    // is created: a failure fails this sign-in; the user stays.
                    if let Some(g) = gate {
                        g.post_confirmation(&user, &l).await?;
                    }
                    return Ok(user);
                }
                Ok(CreateUserOutcome::IdentityTaken(uid)) => {
                    return self.load_and_finish(pool, &uid, &mapped, now, gate).await;
                }
                // The username is held by a user this identity was unlinked from.
                Err(StoreError::AlreadyExists(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(IdentityError::Store(StoreError::Conflict(
            "could not allocate a username".into(),
        )))
    }

    async fn load_and_finish(
        &self,
        pool: &Pool,
        user_id: &str,
        mapped: &Mapped,
        now: i64,
        gate: Option<&Gate<'_>>,
    ) -> Result<User, IdentityError> {
        let user = self
            .store
            .get_user(&pool.id, user_id)
            .await?
            .ok_or_else(|| StoreError::Conflict("linked user vanished".into()))?;
        self.finish(user, mapped, pool.settings.email_case_sensitive, now, gate)
            .await
    }

    /// Writes what this sign-in learned as a partial update of the fields a sign-in
    /// owns (email, attributes; an upstream's groups are not the pool's groups): a disable or a global sign-out that landed
    /// after `user` was read is kept, and answers for this sign-in too.
    async fn finish(
        &self,
        user: User,
        mapped: &Mapped,
        cs: bool,
        now: i64,
        gate: Option<&Gate<'_>>,
    ) -> Result<User, IdentityError> {
        if !user.enabled {
            return Err(IdentityError::Disabled);
        }
        let mut merged = user.clone();
        let changed = merge(&mut merged, mapped, cs);
        if let Some(g) = gate {
            g.pre_authentication(&merged).await?;
        }
        if !changed {
            return Ok(user);
        }
        let mut patch = UserPatch {
            set_attributes: mapped.attributes.clone(),
            updated_at: Some(now),
            ..UserPatch::default()
        };
        if mapped.email.is_some() {
            patch.email = Some(merged.email);
            patch.email_norm = Some(merged.email_norm);
            patch.email_verified = Some(merged.email_verified);
        }
        let written = self
            .store
            .patch_user(&user.pool_id, &user.id, &patch)
            .await?
            .ok_or_else(|| {
                StoreError::Conflict("the user was deleted during the sign-in".into())
            })?;
        if !written.enabled {
            return Err(IdentityError::Disabled);
        }
        Ok(written)
    }
}

/// A user record not yet stored.
fn new_user(pool: &Pool, username: String, now: i64) -> User {
    User::new(&pool.id, username, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mapping_overrides_defaults_and_verification_follows_the_upstream_email() {
        let mut up = UpstreamIdentity {
            subject: "s".into(),
            email: Some("A@x.com".into()),
            email_verified: true,
            ..Default::default()
        };
        up.raw.insert("email".into(), json!("A@x.com"));
        up.raw.insert("alt_mail".into(), json!("b@y.com"));
        up.raw.insert("given_name".into(), json!("Ann"));
        let m = map_attributes(
            &up,
            &BTreeMap::new(),
            &[("email", "email"), ("given_name", "given_name")],
        );
        assert_eq!(m.email.as_deref(), Some("A@x.com"));
        assert!(m.email_verified);
        assert_eq!(m.attributes["given_name"], json!("Ann"));
        let mapping = BTreeMap::from([("email".to_owned(), "alt_mail".to_owned())]);
        let m = map_attributes(&up, &mapping, &[("email", "email")]);
        assert_eq!(m.email.as_deref(), Some("b@y.com"));
        assert!(
            !m.email_verified,
            "a remapped email is not the one the upstream verified"
        );
    }

    #[test]
    fn emails_compare_case_insensitively_by_default() {
        assert_eq!(
            normalize_email(" Ann@Example.COM ", false),
            "ann@example.com"
        );
        assert_eq!(normalize_email("Ann@Example.COM", true), "Ann@Example.COM");
    }

    #[test]
    fn only_ascii_letters_fold_and_only_ascii_addresses_link() {
        // U+212A KELVIN SIGN lower-cases to `k` under Unicode rules.
        assert_ne!(normalize_email("\u{212A}im@x.com", false), "kim@x.com");
        assert_eq!(normalize_email("KIM@X.COM", false), "kim@x.com");
        assert!(!links_by_email("\u{212A}im@x.com"));
        assert!(!links_by_email("j\u{f6}rg@x.com"));
        assert!(links_by_email(" kim@x.com "));
        assert!(!links_by_email("  "));
    }
}
