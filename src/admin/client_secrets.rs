//! Client secrets: kept as a digest (authentication) and sealed with the operator's
//! key (read back for `SECRET_HASH` checks and `DescribeUserPoolClient`); rotation as
//! Cognito's `AddUserPoolClientSecret` / `DeleteUserPoolClientSecret`: at most two
//! current secrets, both authenticate, the last one cannot be deleted.

use super::error::{AdminError, AdminResult};
use super::service::Admin;
use crate::flow::client_secrets::new_record;
use crate::model::{AppClient, ClientSecretRecord, MAX_CLIENT_SECRETS};
use crate::secret::{Secret, random_token};

/// One secret of a client as an operation reports it.
#[derive(Clone, Debug)]
pub struct ClientSecretInfo {
    /// `{client id}--{creation time in ms}`.
    pub id: String,
    pub created_at: i64,
    /// The secret in clear: only in the answer of the operation that made it.
    pub value: Option<Secret>,
    /// `****` and the last 4 characters, or `********` for a secret kept only as a
    /// digest (made before secrets were sealed) or sealed under another key.
    pub masked: String,
    /// Whether poolgate generated the secret (Cognito shows only those once made).
    pub generated: bool,
}

/// What a secret the caller chooses must be (Cognito's `ClientSecretType`).
fn valid_custom_secret(s: &str) -> bool {
    (24..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'+')
}

impl Admin {
    /// A secret record for `client`, sealed with the operator's key.
    pub(super) fn seal_secret(
        &self,
        client: &AppClient,
        id: String,
        created_at: i64,
        secret: &Secret,
    ) -> AdminResult<ClientSecretRecord> {
        new_record(self.flow.sealer(), client, id, created_at, secret).ok_or_else(|| {
            AdminError::internal(
                "The client secret could not be sealed.",
                "AES-256-GCM seal failed",
            )
        })
    }

    /// The client's newest secret in clear, for internal callers (`SECRET_HASH`
    /// checks): `None` for a public client and for one whose secrets were kept only
    /// as a digest.
    pub async fn client_secret(&self, pool: &str, client_id: &str) -> AdminResult<Option<Secret>> {
        let c = self.get_client(pool, client_id).await?;
        Ok(self.flow.client_secrets(&c).pop())
    }

    /// Every current secret of the client in clear, oldest first (a `SECRET_HASH` made
    /// with any of them is valid during a rotation).
    pub async fn client_secrets_in_clear(
        &self,
        pool: &str,
        client_id: &str,
    ) -> AdminResult<Vec<Secret>> {
        let c = self.get_client(pool, client_id).await?;
        Ok(self.flow.client_secrets(&c))
    }

    /// The client's secrets: ids, dates and masked values, oldest first.
    pub async fn list_client_secrets(
        &self,
        pool: &str,
        client_id: &str,
    ) -> AdminResult<Vec<ClientSecretInfo>> {
        let c = self.get_client(pool, client_id).await?;
        Ok(self.secret_infos(&c))
    }

    fn secret_infos(&self, c: &AppClient) -> Vec<ClientSecretInfo> {
        let aad = crate::flow::client_secrets::secret_aad(&c.pool_id, &c.client_id);
        c.secret_records()
            .into_iter()
            .map(|r| {
                let masked = r
                    .sealed
                    .as_deref()
                    .and_then(|s| self.flow.sealer().open(&aad, s))
                    .map(|s| s.masked())
                    .unwrap_or_else(|| "********".to_owned());
                ClientSecretInfo {
                    id: r.id,
                    created_at: r.created_at,
                    value: None,
                    masked,
                    generated: true,
                }
            })
            .collect()
    }

    /// Adds a secret to a confidential client: `custom` (24 to 64 of letters, digits,
    /// `_` and `+`) or a generated one. Refused for a public client and when the
    /// client has its 2 secrets already. Answers the new secret with its id and date.
    pub async fn add_client_secret(
        &self,
        pool: &str,
        client_id: &str,
        custom: Option<String>,
    ) -> AdminResult<ClientSecretInfo> {
        self.pool(pool).await?;
        let generated = custom.is_none();
        let value = match custom {
            Some(s) if !valid_custom_secret(&s) => {
                return Err(AdminError::invalid(
                    "ClientSecret: 24 to 64 characters of letters, digits, _ and +",
                ));
            }
            Some(s) => s,
            None => random_token(32),
        };
        let secret = Secret::new(value);
        let now = self.clock.now();
        // Applied to the client as stored at the write: two additions at once cannot
        // both pass the limit, and neither undoes the other.
        let (_, rec) = self
            .change_client(pool, client_id, |c| {
                if c.secret_hash.is_none() {
                    return Err(AdminError::invalid(
                        "the client has no secret: a public client cannot be given one",
                    ));
                }
                let mut records = c.secret_records();
                if records.len() >= MAX_CLIENT_SECRETS {
                    return Err(AdminError::LimitExceeded(format!(
                        "The client already has {MAX_CLIENT_SECRETS} secrets; delete one first."
                    )));
                }
                if crate::flow::client_secrets::secret_matches(c, secret.expose()) {
                    return Err(AdminError::invalid(
                        "ClientSecret: the client already has this secret",
                    ));
                }
                let mut ms = now.saturating_mul(1000);
                while records.iter().any(|r| r.id == format!("{client_id}--{ms}")) {
                    ms += 1;
                }
                let rec = self.seal_secret(c, format!("{client_id}--{ms}"), now, &secret)?;
                records.push(rec.clone());
                c.secret_hash = records.first().map(|r| r.hash.clone());
                c.secrets = records;
                Ok(rec)
            })
            .await?;
        let info = ClientSecretInfo {
            id: rec.id.clone(),
            created_at: now,
            masked: secret.masked(),
            value: Some(secret),
            generated,
        };
        tracing::info!(pool, client_id, secret_id = %info.id, "client secret added");
        Ok(info)
    }

    /// Deletes one secret of a client; the last one cannot be deleted.
    pub async fn delete_client_secret(
        &self,
        pool: &str,
        client_id: &str,
        secret_id: &str,
    ) -> AdminResult<()> {
        self.pool(pool).await?;
        // Applied to the client as stored at the write: two deletions at once cannot
        // remove its last secret.
        self.change_client(pool, client_id, |c| {
            let mut records = c.secret_records();
            let Some(at) = records.iter().position(|r| r.id == secret_id) else {
                return Err(AdminError::NotFound("the client secret"));
            };
            if records.len() == 1 {
                return Err(AdminError::invalid(
                    "You cannot delete the last remaining secret of a client.",
                ));
            }
            records.remove(at);
            c.secret_hash = records.first().map(|r| r.hash.clone());
            c.secrets = records;
            Ok(())
        })
        .await?;
        tracing::info!(pool, client_id, secret_id, "client secret deleted");
        Ok(())
    }
}
