//! A signed-in user verifies its email address, as Cognito's
//! `GetUserAttributeVerificationCode` and `VerifyUserAttribute`: a code is mailed to
//! the address (the pool's `CustomEmailSender` hook or SMTP, with the
//! `CustomMessage_VerifyUserAttribute` text), and the right code marks the address
//! verified. The code is bound to the address it was sent to: once the user changes
//! its email, a code sent to the old one matches nothing. Codes follow
//! [`super::codes`]: stored hashed, 24 hours, five wrong tries spend one, taken once.

use super::deliver::CodeDelivery;
use super::{NativeError, codes};
use crate::flow::{Flow, PoolCtx};
use crate::hooks::{MessageSource, StringMap};
use crate::identity::gate::EXTERNAL_PROVIDER;
use crate::model::User;
use crate::secret::sha256_hex;
use crate::store::UserPatch;

/// The attribute names the operations accept, as Cognito's.
fn checked_name(name: &str) -> Result<(), NativeError> {
    match name {
        "email" => Ok(()),
        "phone_number" => Err(NativeError::InvalidParameter(
            "phone_number cannot be verified: poolgate sends no SMS for attribute verification."
                .into(),
        )),
        _ => Err(NativeError::InvalidParameter(format!(
            "{}: only email and phone_number can be verified.",
            printable(name)
        ))),
    }
}

/// A caller's attribute name, cut short and without control characters, for a message.
fn printable(name: &str) -> String {
    name.chars().filter(|c| !c.is_control()).take(64).collect()
}

/// The code's key: the user and the address it goes to (a changed address gets no
/// match from a code sent to the old one).
fn code_key(user: &User, email: &str) -> String {
    format!("{}:{}", user.id, sha256_hex(email))
}

impl Flow {
    /// `GetUserAttributeVerificationCode`: mails a code to the user's email.
    pub async fn get_attribute_verification_code(
        &self,
        ctx: &PoolCtx,
        token: &str,
        attribute: &str,
        client_metadata: Option<&StringMap>,
    ) -> Result<CodeDelivery, NativeError> {
        let (claims, user) = self.user_access(ctx, token).await?;
        checked_name(attribute)?;
        let email = user.email.clone().ok_or_else(|| {
            NativeError::InvalidParameter("The user has no email address to verify.".into())
        })?;
        if !self.can_mail(&ctx.pool) {
            return Err(super::deliver::no_mail());
        }
        let status = match self.store.get_credential(&ctx.pool.id, &user.id).await? {
            Some(c) => c.status.as_str(),
            None => EXTERNAL_PROVIDER,
        };
        let kind = codes::KIND_VERIFY_ATTRIBUTE;
        let key = code_key(&user, &email);
        let code = self.issue_user_code(&ctx.pool.id, kind, &key).await?;
        let sent = self
            .send_code(
                &ctx.pool,
                Some(&claims.client_id),
                &user,
                status,
                MessageSource::VerifyUserAttribute,
                &code,
                client_metadata,
            )
            .await;
        if sent.is_err() {
            // A code nobody received is not left usable.
            self.store.take(&ctx.pool.id, kind, &key).await?;
        }
        sent
    }

    /// `VerifyUserAttribute`: the right code marks the email verified.
    pub async fn verify_user_attribute(
        &self,
        ctx: &PoolCtx,
        token: &str,
        attribute: &str,
        code: &str,
    ) -> Result<(), NativeError> {
        let (_, user) = self.user_access(ctx, token).await?;
        checked_name(attribute)?;
        let Some(email) = user.email.clone() else {
            return Err(NativeError::ExpiredCode);
        };
        let kind = codes::KIND_VERIFY_ATTRIBUTE;
        let key = code_key(&user, &email);
        self.check_code(&ctx.pool.id, kind, &key, code).await?;
        self.spend_code(&ctx.pool.id, kind, &key, code).await?;
        let patch = UserPatch {
            email_verified: Some(true),
            updated_at: Some(self.clock.now()),
            ..UserPatch::default()
        };
        self.store
            .patch_user(&ctx.pool.id, &user.id, &patch)
            .await?
            .ok_or(NativeError::UserNotFound)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_email_is_verified_here() {
        assert!(checked_name("email").is_ok());
        assert!(matches!(
            checked_name("phone_number"),
            Err(NativeError::InvalidParameter(_))
        ));
        let Err(NativeError::InvalidParameter(m)) = checked_name("name\u{0}\n") else {
            panic!("an attribute that cannot be verified is refused");
        };
        assert!(!m.contains('\n') && !m.contains('\u{0}'));
    }
}
