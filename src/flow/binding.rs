//! Binds a sign-in to the browser that began it (login CSRF, for the OIDC callback and
//! the SAML assertion consumer alike): `/oauth2/authorize` sets a cookie with a random
//! value whose hash the sign-in keeps; the callback is accepted only with it.
//!
//! On HTTPS the cookie is `__Host-` prefixed (Secure, `Path=/`, no `Domain`: a sibling
//! subdomain cannot plant one of its own in the victim's browser, RFC 6265bis section
//! 4.1.3.2) and `SameSite=None`, so that the cross-site POSTs of SAML and Apple's
//! `form_post` carry it. On plain-HTTP loopback development it is `SameSite=Lax`; such a
//! POST arrives without it and is answered with a page that posts the same fields again
//! from poolgate's own origin (`http/repost.rs`), which carries it.

use std::collections::BTreeMap;

use super::PoolCtx;
use crate::secret::{constant_time_eq, sha256_hex};

/// Name of the binding cookie of the sign-in whose upstream state is `state`, on the
/// scheme the request arrived on.
pub fn cookie_name(ctx: &PoolCtx, state: &str) -> String {
    let base = format!("pg_flow_{}", &sha256_hex(state)[..16]);
    if secure(ctx) {
        format!("__Host-{base}")
    } else {
        base
    }
}

/// Whether the pool is served over HTTPS here (the cookie can be `Secure`).
pub fn secure(ctx: &PoolCtx) -> bool {
    ctx.base.scheme() == "https"
}

/// Whether the request's cookies carry the binding of the sign-in `state`, whose stored
/// hash is `binding_hash`.
pub fn is_bound(
    ctx: &PoolCtx,
    state: &str,
    binding_hash: &str,
    cookies: &BTreeMap<String, String>,
) -> bool {
    !binding_hash.is_empty()
        && cookies
            .get(&cookie_name(ctx, state))
            .is_some_and(|v| constant_time_eq(sha256_hex(v).as_bytes(), binding_hash.as_bytes()))
}

/// The `Set-Cookie` value of a binding cookie (`max_age` 0 removes it).
pub fn set_cookie(ctx: &PoolCtx, name: &str, value: &str, max_age: u64) -> String {
    let attrs = if secure(ctx) {
        "Secure; SameSite=None"
    } else {
        "SameSite=Lax"
    };
    format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; {attrs}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Pool, PoolSettings};

    fn ctx(base: &str) -> PoolCtx {
        PoolCtx {
            pool: Pool {
                id: "default".into(),
                settings: PoolSettings::default(),
                created_at: 0,
                hook_secret: None,
            },
            issuer: base.into(),
            base: url::Url::parse(base).unwrap(),
        }
    }

    #[test]
    fn host_prefix_on_https_only() {
        let https = ctx("https://login.example");
        let name = cookie_name(&https, "s");
        assert!(name.starts_with("__Host-pg_flow_"), "{name}");
        let c = set_cookie(&https, &name, "v", 300);
        assert!(c.contains("Secure") && c.contains("SameSite=None") && c.contains("Path=/;"));
        assert!(!c.contains("Domain"));
        let http = ctx("http://localhost:8080");
        let name = cookie_name(&http, "s");
        assert!(name.starts_with("pg_flow_"), "{name}");
        assert!(set_cookie(&http, &name, "v", 300).contains("SameSite=Lax"));
    }

    #[test]
    fn only_the_right_value_binds() {
        let c = ctx("https://login.example");
        let hash = sha256_hex("secret-value");
        let mut jar = BTreeMap::new();
        assert!(!is_bound(&c, "s", &hash, &jar));
        // The unprefixed name (which a sibling subdomain could set) does not count.
        jar.insert(cookie_name(&ctx("http://x"), "s"), "secret-value".into());
        assert!(!is_bound(&c, "s", &hash, &jar));
        jar.insert(cookie_name(&c, "s"), "wrong".into());
        assert!(!is_bound(&c, "s", &hash, &jar));
        jar.insert(cookie_name(&c, "s"), "secret-value".into());
        assert!(is_bound(&c, "s", &hash, &jar));
        assert!(
            !is_bound(&c, "s", "", &jar),
            "an unbound flow binds nothing"
        );
    }
}
