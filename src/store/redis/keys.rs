//! Key names of the Redis backend (documented in docs/redis.md). Every variable part of
//! a key is escaped, so that no user-controlled string can forge a separator, a hash tag
//! or a glob pattern, and one pool's prefix is never a prefix of another pool's keys.

use crate::store::EphemeralKind;

/// Escapes everything but `[A-Za-z0-9._-]` as `%XX` (upper-case hex of each byte).
pub(crate) fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Prefix of the global keys. `#` is always escaped by [`enc`], so no pool's hash tag can
/// ever be `{#}`: a pool named `_` or `global` cannot collide with these keys.
const GLOBAL: &str = "poolgate:{#}:";

/// Pool records: hash, pool id -> Pool JSON.
pub(crate) fn pools() -> String {
    format!("{GLOBAL}pools")
}

/// Domains: hash, domain -> DomainRecord JSON (the owner is its `pool_id`).
pub(crate) fn domains() -> String {
    format!("{GLOBAL}domains")
}

/// The keys of one pool: all share the hash tag `{pool}`, hence one Cluster slot.
#[derive(Clone, Debug)]
pub(crate) struct PoolKeys {
    prefix: String,
}

impl PoolKeys {
    pub(crate) fn new(pool: &str) -> Self {
        Self {
            prefix: format!("poolgate:{{{}}}:", enc(pool)),
        }
    }

    /// The prefix itself, handed to Lua scripts that derive keys from index members.
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A SCAN pattern matching every key of the pool (the prefix holds no glob
    /// characters: `enc` escapes `*`, `?`, `[`, `]` and `\`).
    pub(crate) fn pattern(&self) -> String {
        format!("{}*", self.prefix)
    }

    fn key(&self, rest: &str) -> String {
        format!("{}{rest}", self.prefix)
    }

    pub(crate) fn clients(&self) -> String {
        self.key("clients")
    }
    pub(crate) fn providers(&self) -> String {
        self.key("providers")
    }
    pub(crate) fn resource_servers(&self) -> String {
        self.key("rs")
    }
    /// The pool's SAML SP key material (a string holding JSON).
    pub(crate) fn sp_keys(&self) -> String {
        self.key("sp-keys")
    }
    /// Sorted set of the pool's sign-ins in progress (flow keys, score: expiry ms).
    pub(crate) fn flows(&self) -> String {
        self.key("flows")
    }
    pub(crate) fn ephemeral(&self, kind: EphemeralKind, key: &str) -> String {
        self.key(&format!("eph:{}:{}", enc(kind.as_str()), enc(key)))
    }

    pub(crate) fn user(&self, id: &str) -> String {
        self.key(&format!("user:{}", enc(id)))
    }
    /// Sorted set of user ids, score `created_at`: ordered by (created_at, id).
    pub(crate) fn users(&self) -> String {
        self.key("users")
    }
    pub(crate) fn username(&self, username: &str) -> String {
        self.key(&format!("uname:{}", enc(username)))
    }
    pub(crate) fn email(&self, email_norm: &str) -> String {
        self.key(&format!("email:{}", enc(email_norm)))
    }
    pub(crate) fn provider_users(&self, provider: &str) -> String {
        self.key(&format!("prov:{}", enc(provider)))
    }
    /// Member of a user's link set naming one identity; the scripts derive the identity
    /// key (`ident:` + member) and the provider index (`prov:` + the part before `:`).
    pub(crate) fn link_member(provider: &str, subject: &str) -> String {
        format!("{}:{}", enc(provider), enc(subject))
    }
    pub(crate) fn identity(&self, provider: &str, subject: &str) -> String {
        self.key(&format!("ident:{}", Self::link_member(provider, subject)))
    }
    pub(crate) fn identity_of_member(&self, member: &str) -> String {
        self.key(&format!("ident:{member}"))
    }
    /// A native user's credential record (JSON), deleted with the user.
    pub(crate) fn credential(&self, user_id: &str) -> String {
        self.key(&format!("cred:{}", enc(user_id)))
    }
    pub(crate) fn links(&self, user_id: &str) -> String {
        self.key(&format!("links:{}", enc(user_id)))
    }
    /// Pending links of one provider: hash, [`PoolKeys::pending_field`] -> PendingLink
    /// JSON.
    pub(crate) fn pending(&self, provider: &str) -> String {
        self.key(&format!("pend:{}", enc(provider)))
    }
    /// How many pending links of one provider name each attribute: hash, attribute
    /// name (as given) -> count. A sign-in reads these attributes of the identity.
    pub(crate) fn pending_attributes(&self, provider: &str) -> String {
        self.key(&format!("pendattr:{}", enc(provider)))
    }
    /// Set of a user's pending links, as [`PoolKeys::pending_member`]s.
    pub(crate) fn user_pending(&self, user_id: &str) -> String {
        self.key(&format!("pendu:{}", enc(user_id)))
    }
    /// Field of a pending link in its provider's hash.
    pub(crate) fn pending_field(attribute: &str, value: &str) -> String {
        format!("{}:{}", enc(attribute), enc(value))
    }
    /// Member of a user's pending set: the scripts derive the provider's hash
    /// (`pend:` + the part before the first `:`) and the field (the rest).
    pub(crate) fn pending_member(provider: &str, attribute: &str, value: &str) -> String {
        format!(
            "{}:{}",
            enc(provider),
            Self::pending_field(attribute, value)
        )
    }

    /// Pool groups: hash, group name -> Group JSON.
    /// User import jobs: hash, job id -> ImportJob JSON.
    pub(crate) fn import_jobs(&self) -> String {
        self.key("import_jobs")
    }
    pub(crate) fn groups(&self) -> String {
        self.key("groups")
    }
    /// Set of the user ids in a group.
    pub(crate) fn group_members(&self, name: &str) -> String {
        self.key(&format!("gmembers:{}", enc(name)))
    }
    /// Set of the group names a user is in (the scripts derive it as `ugroups:` + the
    /// user id, which is a UUID and so needs no escaping).
    pub(crate) fn user_groups(&self, user_id: &str) -> String {
        self.key(&format!("ugroups:{}", enc(user_id)))
    }

    pub(crate) fn refresh(&self, token_hash: &str) -> String {
        self.key(&format!("rt:{}", enc(token_hash)))
    }
    pub(crate) fn family(&self, family_id: &str) -> String {
        self.key(&format!("rtfam:{}", enc(family_id)))
    }
    pub(crate) fn user_families(&self, user_id: &str) -> String {
        self.key(&format!("rtuser:{}", enc(user_id)))
    }

    /// Set of the pool's key ids.
    pub(crate) fn kids(&self) -> String {
        self.key("kids")
    }
    /// Hash of one signing key: `rec` (JSON), `active` (`1`/`0`), `vu` (visible until).
    pub(crate) fn signing_key(&self, kid: &str) -> String {
        self.key(&format!("key:{}", enc(kid)))
    }
    /// A key's hash from a member of [`PoolKeys::kids`] (already escaped).
    pub(crate) fn key_of_member(&self, member: &str) -> String {
        self.key(&format!("key:{member}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_separators_tags_and_globs() {
        assert_eq!(enc("default"), "default");
        assert_eq!(
            enc("a:b{c}*?[]\\ %#"),
            "a%3Ab%7Bc%7D%2A%3F%5B%5D%5C%20%25%23"
        );
        assert_eq!(enc("é"), "%C3%A9");
    }

    #[test]
    fn identity_keys_cannot_collide() {
        let k = PoolKeys::new("p");
        assert_ne!(k.identity("a:b", "c"), k.identity("a", "b:c"));
        assert_eq!(k.identity("Google", "1"), "poolgate:{p}:ident:Google:1");
    }

    /// Every key a pool's scripts touch hashes to the pool's slot (Cluster runs a
    /// multi-key script only when all its keys share a slot), whatever the pool id and
    /// the values in the key; the global keys share one slot of their own.
    #[test]
    fn every_key_of_a_pool_is_in_the_pool_slot() {
        use redis::cluster_routing::Slot;
        let odd = ["v", "a:b", "{x}", "}{", "*", "é", ""];
        for pool in [
            "default",
            "a}:x",
            "{",
            "}",
            "#",
            "{#}",
            "p{q}r",
            "é",
            "us-east-1_Ab",
        ] {
            let k = PoolKeys::new(pool);
            let slot = Slot::for_key(k.users());
            let mut all = vec![
                k.clients(),
                k.providers(),
                k.resource_servers(),
                k.sp_keys(),
                k.flows(),
                k.users(),
                k.groups(),
                k.kids(),
                k.pattern(),
            ];
            for v in odd {
                let kinds = crate::store::EphemeralKind::ALL;
                all.extend(kinds.iter().map(|kind| k.ephemeral(*kind, v)));
                all.extend([
                    k.user(v),
                    k.username(v),
                    k.email(v),
                    k.provider_users(v),
                    k.identity(v, v),
                    k.identity_of_member(&PoolKeys::link_member(v, v)),
                    k.credential(v),
                    k.links(v),
                    k.pending(v),
                    k.pending_attributes(v),
                    k.user_pending(v),
                    format!("{}pend:{}", k.prefix(), enc(v)),
                    format!("{}pendu:{}", k.prefix(), enc(v)),
                    format!("{}pendattr:{}", k.prefix(), enc(v)),
                    k.group_members(v),
                    k.user_groups(v),
                    k.refresh(v),
                    k.family(v),
                    k.user_families(v),
                    k.signing_key(v),
                    k.key_of_member(&enc(v)),
                    // Keys the scripts derive from the prefix and an escaped member.
                    format!("{}rt:{}", k.prefix(), enc(v)),
                    format!("{}rtfam:{}", k.prefix(), enc(v)),
                    format!("{}ugroups:{}", k.prefix(), enc(v)),
                ]);
            }
            for key in &all {
                assert_eq!(Slot::for_key(key), slot, "{key} of pool {pool}");
            }
            // No pool shares the global slot by construction of its tag.
            assert!(!k.prefix().starts_with("poolgate:{#}"));
        }
        assert_eq!(Slot::for_key(pools()), Slot::for_key(domains()));
    }

    #[test]
    fn pool_prefixes_are_not_prefixes_of_each_other() {
        let a = PoolKeys::new("a");
        let b = PoolKeys::new("a}:x");
        assert!(!b.user("u").starts_with(a.prefix()));
        assert!(!PoolKeys::new("#").prefix().starts_with("poolgate:{#}"));
    }
}
