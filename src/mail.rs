//! Mail to native users over SMTP (`POOLGATE_SMTP_URL`, `POOLGATE_SMTP_FROM`): codes
//! and invitations, sent with `lettre` over tokio and rustls. A layer beside `hooks`:
//! the flow decides what to send, this module only sends it. Messages are never logged
//! (they carry codes and temporary passwords).

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// How long one delivery may take (connect, TLS, the SMTP dialogue).
const TIMEOUT: Duration = Duration::from_secs(10);

/// Why a message was not handed to the mail server.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the recipient address is not valid")]
    BadRecipient,
    #[error("the mail server did not take the message")]
    Transport,
}

/// The gateway's SMTP client: a connection per message (codes are few; no pool task
/// outlives the runtime).
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from.email.to_string())
            .finish_non_exhaustive()
    }
}

/// Checks an SMTP URL as `lettre` reads it (`smtp://[user:pass@]host[:port]`,
/// `smtp://...?tls=required` for STARTTLS, `smtps://` for TLS from the start).
pub fn check_url(url: &str) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "smtp" | "smtps") {
        return Err("the scheme must be smtp or smtps".into());
    }
    AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map(|_| ())
        .map_err(|e| format!("not an SMTP URL lettre accepts: {e}"))
}

impl Mailer {
    /// A mailer for `url` sending as `from` (an address, optionally `Name <addr>`).
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        check_url(url)?;
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("POOLGATE_SMTP_FROM: not a mail address: {e}"))?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("POOLGATE_SMTP_URL: {e}"))?
            .timeout(Some(TIMEOUT))
            .build();
        Ok(Self { transport, from })
    }

    /// Sends one plain-text message.
    pub async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), MailError> {
        let to: Mailbox = to.parse().map_err(|_| MailError::BadRecipient)?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            .map_err(|_| MailError::BadRecipient)?;
        self.transport.send(message).await.map_err(|e| {
            tracing::warn!(error = %e, "SMTP delivery failed");
            MailError::Transport
        })?;
        Ok(())
    }
}

/// Cognito's way of showing where a code went: the first character, `***`, then the
/// domain's first character and `***` (`a***@e***`).
pub fn mask_email(email: &str) -> String {
    let (local, domain) = email.split_once('@').unwrap_or((email, ""));
    let first = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
    format!("{}***@{}***", first(local), first(domain))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_addresses_are_checked() {
        assert!(check_url("smtp://127.0.0.1:2525").is_ok());
        assert!(check_url("smtps://user:pw@mail.example.com").is_ok());
        assert!(check_url("smtp://mail.example.com:587?tls=required").is_ok());
        assert!(check_url("http://mail.example.com").is_err());
        assert!(check_url("not a url").is_err());
        assert!(Mailer::new("smtp://127.0.0.1:2525", "not an address").is_err());
        let m = Mailer::new(
            "smtp://u:secret@127.0.0.1:2525",
            "Poolgate <no-reply@x.test>",
        );
        let m = m.expect("valid");
        assert!(!format!("{m:?}").contains("secret"));
    }

    #[test]
    fn destinations_are_masked_as_cognito_does() {
        assert_eq!(mask_email("anna@example.test"), "a***@e***");
        assert_eq!(mask_email("x"), "x***@***");
    }
}
