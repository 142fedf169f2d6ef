//! A pre-token-generation answer turned into changes of the ID and access tokens'
//! claims: V1 `claimsOverrideDetails` (ID token), V2/V3
//! `claimsAndScopeOverrideDetails` (both tokens, scopes), `groupOverrideDetails`.
//! Claims that identify the token stay as poolgate wrote them, as Cognito keeps them.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::event::{ClaimsAndScopeOverrideDetails, ClaimsOverrideDetails, GroupOverrideDetails};

pub use crate::token::TokenKind;

/// Claims no hook may add, override or suppress in an ID token. Groups and roles change
/// only through `groupOverrideDetails`.
const PROTECTED_ID: &[&str] = &[
    "acr",
    "amr",
    "aud",
    "at_hash",
    "auth_time",
    "azp",
    "exp",
    "iat",
    "identities",
    "iss",
    "jti",
    "nbf",
    "nonce",
    "origin_jti",
    "sub",
    "token_use",
    "event_id",
    "username",
    "groups",
];

/// The same for access tokens; `scope` changes only through `scopesToAdd`/`Suppress`.
const PROTECTED_ACCESS: &[&str] = &[
    "acr",
    "amr",
    "aud",
    "auth_time",
    "azp",
    "client_id",
    "exp",
    "iat",
    "identities",
    "iss",
    "jti",
    "nbf",
    "nonce",
    "origin_jti",
    "scope",
    "sub",
    "token_use",
    "username",
    "version",
    "event_id",
    "groups",
];

/// Whether a hook may touch claim `name` of a `kind` token.
pub fn protected(kind: TokenKind, name: &str) -> bool {
    let list = match kind {
        TokenKind::Id => PROTECTED_ID,
        TokenKind::Access => PROTECTED_ACCESS,
    };
    name.starts_with("cognito:") || list.contains(&name) || name.is_empty()
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClaimChanges {
    #[serde(default)]
    pub add: Map<String, Value>,
    #[serde(default)]
    pub suppress: Vec<String>,
}

/// What a hook changes in the tokens of one issuance. Kept with an authorization code
/// between the sign-in (where the hook runs) and the code exchange.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenOverrides {
    #[serde(default)]
    pub id: ClaimChanges,
    #[serde(default)]
    pub access: ClaimChanges,
    #[serde(default)]
    pub scopes_to_add: Vec<String>,
    #[serde(default)]
    pub scopes_to_suppress: Vec<String>,
    #[serde(default)]
    pub groups: Option<Vec<String>>,
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    #[serde(default)]
    pub preferred_role: Option<String>,
}

impl TokenOverrides {
    pub fn from_v1(d: ClaimsOverrideDetails) -> Self {
        let mut out = Self {
            id: ClaimChanges {
                add: d.claims_to_add_or_override.unwrap_or_default(),
                suppress: d.claims_to_suppress.unwrap_or_default(),
            },
            ..Self::default()
        };
        out.set_groups(d.group_override_details);
        out
    }

    pub fn from_v2(d: ClaimsAndScopeOverrideDetails) -> Self {
        let mut out = Self::default();
        if let Some(id) = d.id_token_generation {
            out.id = ClaimChanges {
                add: id.claims_to_add_or_override.unwrap_or_default(),
                suppress: id.claims_to_suppress.unwrap_or_default(),
            };
        }
        if let Some(at) = d.access_token_generation {
            out.access = ClaimChanges {
                add: at.claims_to_add_or_override.unwrap_or_default(),
                suppress: at.claims_to_suppress.unwrap_or_default(),
            };
            out.scopes_to_add = at.scopes_to_add.unwrap_or_default();
            out.scopes_to_suppress = at.scopes_to_suppress.unwrap_or_default();
        }
        out.set_groups(d.group_override_details);
        out
    }

    fn set_groups(&mut self, g: Option<GroupOverrideDetails>) {
        if let Some(g) = g {
            self.groups = g.groups_to_override;
            self.roles = g.iam_roles_to_override;
            self.preferred_role = g.preferred_role;
        }
    }

    /// Applies the changes to the claims of a `kind` token about to be signed. A
    /// suppressed claim wins over the same claim added; protected claims are left as
    /// they are.
    pub fn apply(&self, kind: TokenKind, claims: &mut Map<String, Value>) {
        let changes = match kind {
            TokenKind::Id => &self.id,
            TokenKind::Access => &self.access,
        };
        for (k, v) in &changes.add {
            if protected(kind, k) {
                tracing::debug!(claim = %k, "hook tried to set a protected claim; ignored");
            } else {
                claims.insert(k.clone(), v.clone());
            }
        }
        for k in &changes.suppress {
            if !protected(kind, k) {
                claims.remove(k);
            }
        }
        if let Some(groups) = &self.groups {
            if groups.is_empty() {
                claims.remove("cognito:groups");
            } else {
                claims.insert("cognito:groups".into(), Value::from(groups.clone()));
            }
            if claims.contains_key("groups") {
                claims.insert("groups".into(), Value::from(groups.clone()));
            }
        }
        match kind {
            TokenKind::Id => {
                if let Some(roles) = &self.roles {
                    if roles.is_empty() {
                        claims.remove("cognito:roles");
                    } else {
                        claims.insert("cognito:roles".into(), Value::from(roles.clone()));
                    }
                }
                if let Some(role) = &self.preferred_role {
                    claims.insert("cognito:preferred_role".into(), Value::from(role.clone()));
                }
            }
            TokenKind::Access => {
                if !self.scopes_to_add.is_empty() || !self.scopes_to_suppress.is_empty() {
                    let current = claims.get("scope").and_then(Value::as_str).unwrap_or("");
                    let scope =
                        adjust_scope(current, &self.scopes_to_add, &self.scopes_to_suppress);
                    claims.insert("scope".into(), Value::from(scope));
                }
            }
        }
    }

    /// The access token's scope after the hook's changes.
    pub fn scope(&self, current: &str) -> String {
        adjust_scope(current, &self.scopes_to_add, &self.scopes_to_suppress)
    }
}

/// `current` plus `add`, minus `suppress` (suppression wins), without duplicates, in
/// order. Scope tokens with spaces or quotes are not valid (RFC 6749 section 3.3) and are
/// dropped.
fn adjust_scope(current: &str, add: &[String], suppress: &[String]) -> String {
    let mut out: Vec<&str> = Vec::new();
    let valid = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
    };
    for s in current.split(' ').chain(add.iter().map(String::as_str)) {
        if valid(s) && !out.contains(&s) && !suppress.iter().any(|x| x == s) {
            out.push(s);
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hooks::event::PreTokenResponseV2;
    use serde_json::json;

    fn v2(answer: Value) -> TokenOverrides {
        let r: PreTokenResponseV2 = serde_json::from_value(answer).unwrap();
        TokenOverrides::from_v2(r.claims_and_scope_override_details.unwrap())
    }

    #[test]
    fn adds_suppresses_and_keeps_protected_claims() {
        let o = v2(json!({"claimsAndScopeOverrideDetails": {
            "idTokenGeneration": {
                "claimsToAddOrOverride": {"tenant": "acme", "sub": "evil", "cognito:username": "x", "name": {"a": 1}},
                "claimsToSuppress": ["email", "iss", "at_hash"]
            },
            "accessTokenGeneration": {
                "claimsToAddOrOverride": {"plan": "gold", "scope": "admin", "client_id": "other"},
                "claimsToSuppress": ["username", "plan"],
                "scopesToAdd": ["api/read", "has space", "openid"],
                "scopesToSuppress": ["email"]
            },
            "groupOverrideDetails": {"groupsToOverride": ["g1"], "iamRolesToOverride": ["r1"], "preferredRole": "r1"}
        }}));
        let mut id = json!({"sub": "u", "iss": "i", "at_hash": "h", "email": "a@b", "cognito:username": "ann", "groups": []})
            .as_object()
            .unwrap()
            .clone();
        o.apply(TokenKind::Id, &mut id);
        assert_eq!(id["tenant"], "acme");
        assert_eq!(id["name"], json!({"a": 1}), "objects are claims too");
        assert_eq!(id["sub"], "u");
        assert_eq!(id["iss"], "i");
        assert_eq!(id["at_hash"], "h");
        assert_eq!(id["cognito:username"], "ann");
        assert!(id.get("email").is_none());
        assert_eq!(id["cognito:groups"], json!(["g1"]));
        assert_eq!(id["groups"], json!(["g1"]));
        assert_eq!(id["cognito:roles"], json!(["r1"]));
        assert_eq!(id["cognito:preferred_role"], "r1");

        let mut at = json!({"scope": "openid email profile", "client_id": "c", "username": "ann"})
            .as_object()
            .unwrap()
            .clone();
        o.apply(TokenKind::Access, &mut at);
        assert_eq!(at["scope"], "openid profile api/read");
        assert_eq!(at["client_id"], "c");
        assert_eq!(at["username"], "ann");
        assert!(at.get("plan").is_none(), "suppression wins over addition");
        assert!(
            at.get("cognito:roles").is_none(),
            "roles go to the ID token"
        );
        assert_eq!(at["cognito:groups"], json!(["g1"]));
    }

    #[test]
    fn v1_changes_only_the_id_token() {
        let o = TokenOverrides::from_v1(ClaimsOverrideDetails {
            claims_to_add_or_override: Some(json!({"tenant": "acme"}).as_object().unwrap().clone()),
            claims_to_suppress: None,
            group_override_details: Some(GroupOverrideDetails {
                groups_to_override: Some(vec![]),
                ..Default::default()
            }),
        });
        let mut at = json!({"scope": "openid", "cognito:groups": ["a"]})
            .as_object()
            .unwrap()
            .clone();
        o.apply(TokenKind::Access, &mut at);
        assert!(at.get("tenant").is_none());
        assert!(
            at.get("cognito:groups").is_none(),
            "an empty override removes the groups"
        );
        let mut id = Map::new();
        o.apply(TokenKind::Id, &mut id);
        assert_eq!(id["tenant"], "acme");
    }
}
