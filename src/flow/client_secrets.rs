//! App-client secrets at rest: the digest that authenticates a client at the token,
//! revocation and introspection endpoints, and the sealed copy (AES-256-GCM under the
//! operator's key) that `SECRET_HASH` checks and `DescribeUserPoolClient` read back.

use super::Flow;
use crate::model::{AppClient, ClientSecretRecord};
use crate::secret::{Sealer, Secret, constant_time_eq, sha256_hex};

/// The associated data a client's secrets are sealed with: the pool and the client,
/// length-prefixed so no two pairs give the same bytes.
pub fn secret_aad(pool: &str, client_id: &str) -> String {
    format!("client-secret:{}:{pool}:{client_id}", pool.len())
}

/// Whether `presented` is one of the client's current secrets. Every digest is
/// compared in constant time, whichever matches.
pub fn secret_matches(client: &AppClient, presented: &str) -> bool {
    let digest = sha256_hex(presented);
    client.secret_records().iter().fold(false, |ok, r| {
        constant_time_eq(digest.as_bytes(), r.hash.as_bytes()) | ok
    })
}

/// A new secret record for `client`: digest and sealed copy.
pub fn new_record(
    sealer: &Sealer,
    client: &AppClient,
    id: String,
    created_at: i64,
    secret: &Secret,
) -> Option<ClientSecretRecord> {
    let sealed = sealer.seal(
        &secret_aad(&client.pool_id, &client.client_id),
        secret.expose(),
    )?;
    Some(ClientSecretRecord {
        id,
        created_at,
        hash: sha256_hex(secret.expose()),
        sealed: Some(sealed),
    })
}

impl Flow {
    /// The key client secrets are sealed with.
    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// The client's secrets in clear, oldest first: those that were sealed and open
    /// under the current key (a secret kept only as a digest is left out; one that
    /// does not open, sealed under another key, is logged without its value).
    pub fn client_secrets(&self, client: &AppClient) -> Vec<Secret> {
        let aad = secret_aad(&client.pool_id, &client.client_id);
        client
            .secret_records()
            .iter()
            .filter_map(|r| {
                let sealed = r.sealed.as_deref()?;
                let opened = self.sealer.open(&aad, sealed);
                if opened.is_none() {
                    tracing::warn!(pool = %client.pool_id, client_id = %client.client_id, secret_id = %r.id,
                        "a client secret does not open under the current POOLGATE_SECRET_KEY");
                }
                opened
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SecretKey;

    fn client() -> AppClient {
        serde_json::from_value(serde_json::json!({
            "pool_id": "p", "client_id": "c", "name": "n", "secret_hash": null,
            "callback_urls": [], "logout_urls": [], "allowed_oauth_flows": [],
            "allowed_scopes": [], "supported_identity_providers": [],
            "id_token_validity_s": 1, "access_token_validity_s": 1,
            "refresh_token_validity_s": 1, "created_at": 7
        }))
        .unwrap()
    }

    #[test]
    fn any_current_secret_matches_and_a_digest_only_client_still_authenticates() {
        let sealer = Sealer::new(&SecretKey::generate());
        let mut c = client();
        assert!(!secret_matches(&c, "anything"));
        c.secret_hash = Some(sha256_hex("legacy"));
        assert!(secret_matches(&c, "legacy"));
        assert_eq!(c.secret_records()[0].id, "c--7000");
        let a = new_record(&sealer, &c, "c--1".into(), 1, &Secret::new("one")).unwrap();
        let b = new_record(&sealer, &c, "c--2".into(), 2, &Secret::new("two")).unwrap();
        assert!(!format!("{a:?}").contains(a.sealed.as_deref().unwrap()));
        c.secrets = vec![a, b];
        assert!(secret_matches(&c, "one") && secret_matches(&c, "two"));
        assert!(!secret_matches(&c, "legacy") && !secret_matches(&c, "three"));
        // Sealed for pool p, client c: the same record on another client does not open.
        let aad = secret_aad("p", "other");
        assert!(
            sealer
                .open(&aad, c.secrets[0].sealed.as_deref().unwrap())
                .is_none()
        );
        assert_eq!(
            sealer
                .open(
                    &secret_aad("p", "c"),
                    c.secrets[1].sealed.as_deref().unwrap()
                )
                .unwrap()
                .expose(),
            "two"
        );
    }
}
