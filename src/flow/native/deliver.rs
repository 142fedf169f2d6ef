//! Delivering a code (or an invitation's temporary password) to a native user, as
//! Cognito does: the pool's `CustomEmailSender` hook when it has one (the hook sends
//! it), else mail over SMTP with the pool's template (Cognito's
//! `VerificationMessageTemplate`, or `InviteMessageTemplate` for `AdminCreateUser`),
//! whose text the `CustomMessage` hook may rewrite. Without either, nothing can be
//! sent and the operation refuses before it changes anything.

use serde::Serialize;

use super::NativeError;
use crate::flow::Flow;
use crate::hooks::{CustomMessageRequest, Hooks, MessageSource, StringMap, Trigger};
use crate::mail::mask_email;
use crate::model::{Pool, PoolSettings, User};

/// The code placeholder of every template.
pub const CODE: &str = "{####}";
/// The username placeholder of the invitation.
pub const USERNAME: &str = "{username}";

const DEFAULT_SUBJECT: &str = "Your verification code";
const DEFAULT_MESSAGE: &str = "Your verification code is {####}. ";
const DEFAULT_INVITE_SUBJECT: &str = "Your temporary password";
const DEFAULT_INVITE_MESSAGE: &str =
    "Your username is {username} and temporary password is {####}. ";

/// Cognito's `CodeDeliveryDetailsType`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CodeDelivery {
    pub destination: String,
    pub delivery_medium: &'static str,
    pub attribute_name: &'static str,
}

/// The answer of an operation that must mail but cannot.
pub fn no_mail() -> NativeError {
    NativeError::CodeDeliveryFailure(
        "Email delivery is not configured on this gateway (POOLGATE_SMTP_URL, or a CustomEmailSender hook)."
            .into(),
    )
}

/// The problems of a pool's message templates (Cognito's constraints).
pub fn template_problems(s: &PoolSettings) -> Vec<String> {
    let mut e = Vec::new();
    let mut message = |name: &str, v: &Option<String>, needs: &[&str]| {
        if let Some(m) = v {
            let missing: Vec<&str> = needs.iter().copied().filter(|n| !m.contains(n)).collect();
            if m.len() < 6 || m.len() > 20_000 || !missing.is_empty() {
                e.push(format!(
                    "settings.{name}: 6 to 20000 characters containing {}",
                    needs.join(" and ")
                ));
            }
        }
    };
    let v = &s.verification_message_template;
    message(
        "verification_message_template.EmailMessage",
        &v.email_message,
        &[CODE],
    );
    message(
        "verification_message_template.SmsMessage",
        &v.sms_message,
        &[CODE],
    );
    let invite = s.admin_create_user_config.invite_message_template.as_ref();
    if let Some(t) = invite {
        message(
            "admin_create_user_config.InviteMessageTemplate.EmailMessage",
            &t.email_message,
            &[USERNAME, CODE],
        );
        message(
            "admin_create_user_config.InviteMessageTemplate.SMSMessage",
            &t.sms_message,
            &[USERNAME, CODE],
        );
    }
    let subjects = [
        (
            "verification_message_template.EmailSubject",
            &v.email_subject,
        ),
        (
            "admin_create_user_config.InviteMessageTemplate.EmailSubject",
            &invite.and_then(|t| t.email_subject.clone()),
        ),
    ];
    for (name, subject) in subjects {
        if let Some(s) = subject
            && (s.is_empty() || s.chars().count() > 140 || s.chars().any(char::is_control))
        {
            e.push(format!("settings.{name}: 1 to 140 characters on one line"));
        }
    }
    if v.default_email_option
        .as_deref()
        .is_some_and(|o| o != "CONFIRM_WITH_CODE" && o != "CONFIRM_WITH_LINK")
    {
        e.push(
            "settings.verification_message_template.DefaultEmailOption: CONFIRM_WITH_CODE or CONFIRM_WITH_LINK"
                .into(),
        );
    }
    e
}

/// The subject and text of a message before the hook and the placeholders.
fn template(pool: &Pool, source: MessageSource) -> (String, String) {
    let s = &pool.settings;
    if source == MessageSource::AdminCreateUser {
        let t = s.admin_create_user_config.invite_message_template.as_ref();
        return (
            t.and_then(|t| t.email_subject.clone())
                .unwrap_or_else(|| DEFAULT_INVITE_SUBJECT.into()),
            t.and_then(|t| t.email_message.clone())
                .unwrap_or_else(|| DEFAULT_INVITE_MESSAGE.into()),
        );
    }
    let v = &s.verification_message_template;
    (
        v.email_subject
            .clone()
            .unwrap_or_else(|| DEFAULT_SUBJECT.into()),
        v.email_message
            .clone()
            .unwrap_or_else(|| DEFAULT_MESSAGE.into()),
    )
}

impl Flow {
    /// Whether mail can reach the pool's users (a sender hook, or SMTP).
    pub fn can_mail(&self, pool: &Pool) -> bool {
        Hooks::has(pool, Trigger::CustomEmailSender) || self.mailer.is_some()
    }

    /// Sends `code` to `user`'s email for `source`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn send_code(
        &self,
        pool: &Pool,
        client_id: Option<&str>,
        user: &User,
        status: &str,
        source: MessageSource,
        code: &str,
        client_metadata: Option<&StringMap>,
    ) -> Result<CodeDelivery, NativeError> {
        let email = user.email.clone().ok_or_else(|| {
            NativeError::InvalidParameter(
                "The user has no email address to send the code to.".into(),
            )
        })?;
        let delivery = CodeDelivery {
            destination: mask_email(&email),
            delivery_medium: "EMAIL",
            attribute_name: "email",
        };
        let links = self
            .store
            .get_user_with_identities(&pool.id, &user.id)
            .await?
            .map(|(_, l)| l)
            .unwrap_or_default();
        let attrs = crate::hooks::user_attributes(user, &links, status);
        let caller = super::hooks::hook_caller(pool, client_id);
        if Hooks::has(pool, Trigger::CustomEmailSender) {
            self.hooks
                .custom_email_sender(
                    &caller,
                    source,
                    &user.username,
                    code,
                    attrs,
                    client_metadata.cloned(),
                )
                .await?;
            return Ok(delivery);
        }
        let mailer = self.mailer.as_ref().ok_or_else(no_mail)?;
        let (mut subject, mut body) = template(pool, source);
        let request = CustomMessageRequest {
            user_attributes: attrs,
            code_parameter: CODE.into(),
            link_parameter: None,
            username_parameter: (source == MessageSource::AdminCreateUser)
                .then(|| USERNAME.to_owned()),
            client_metadata: client_metadata.cloned(),
        };
        if let Some(r) = self
            .hooks
            .custom_message(&caller, source, &user.username, request)
            .await?
        {
            if let Some(m) = r.email_message {
                body = m;
            }
            if let Some(s) = r.email_subject {
                subject = s;
            }
        }
        let body = body.replace(CODE, code).replace(USERNAME, &user.username);
        mailer.send(&email, &subject, &body).await.map_err(|_| {
            NativeError::CodeDeliveryFailure("Unable to deliver the message.".into())
        })?;
        Ok(delivery)
    }
}
