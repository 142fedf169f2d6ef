//! The hosted page's username-and-password sign-in (`/login` for an app client that
//! lists `COGNITO`): a sign-in record as a federated one's, bound to the browser by the
//! same cookie, whose key is also the form's CSRF token; the password step through the
//! native core the Cognito API uses (throttling, one answer for an unknown user and a
//! wrong password, disabled users refused); the `NEW_PASSWORD_REQUIRED`,
//! `SOFTWARE_TOKEN_MFA`, `SMS_MFA` and `SELECT_MFA_TYPE` steps, and `MFA_SETUP` (an
//! authenticator set up, see `mfa_setup.rs`), with the challenge's `Session` kept
//! server-side; then a single-use code back to the app exactly as a
//! federated sign-in ends. A failed hook sends the browser back to the app with
//! `access_denied`.

use std::collections::BTreeMap;

use url::Url;

use super::hosted_account::{AccountForm, AccountStep};
use super::mfa_setup::{MFA_SETUP, TotpSetup, setup_view};
use super::{AuthOutcome, Caller, NativeError};
use crate::flow::authorize::{AuthorizeParams, BindingCookie, NATIVE_PROVIDER};
use crate::flow::{FLOW_TTL, Flow, FlowError, FlowRecord, PoolCtx, binding};
use crate::model::{AppClient, PasswordPolicy};
use crate::provider::UpstreamState;
use crate::secret::{random_token, sha256_hex};
use crate::store::EphemeralKind;

/// Keys of the sign-in record's state.
pub(super) const STEP: &str = "native_step";
const SESSION: &str = "native_session";
pub(super) const USERNAME: &str = "native_username";
/// Where an SMS code went (masked), for the code form.
const DESTINATION: &str = "native_destination";
/// The TOTP secret being set up (`MFA_SETUP`), shown again with a wrong code.
const TOTP_SECRET: &str = "native_totp_secret";
/// The first step.
pub(super) const PASSWORD: &str = "PASSWORD";

/// Which form the page shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostedStep {
    Password,
    NewPassword,
    Totp,
    Sms,
    SelectMfa,
    MfaSetup,
}

impl HostedStep {
    fn from_name(s: &str) -> Option<Self> {
        match s {
            PASSWORD => Some(Self::Password),
            "NEW_PASSWORD_REQUIRED" => Some(Self::NewPassword),
            "SOFTWARE_TOKEN_MFA" => Some(Self::Totp),
            "SMS_MFA" => Some(Self::Sms),
            "SELECT_MFA_TYPE" => Some(Self::SelectMfa),
            MFA_SETUP => Some(Self::MfaSetup),
            _ => None,
        }
    }
}

/// A password form begun: the token its hidden field carries and the cookie that
/// binds it to this browser.
#[derive(Debug)]
pub struct HostedBegin {
    pub csrf_token: String,
    pub cookie: BindingCookie,
}

/// The form to show (again).
#[derive(Debug)]
pub struct HostedForm {
    pub step: HostedStep,
    pub client: AppClient,
    pub redirect_uri: String,
    /// What went wrong with the last answer, for the user.
    pub error: Option<String>,
    /// The username typed (kept on a wrong password; the challenges' user).
    pub username: String,
    /// Where the SMS code was sent (`+*******1234`), on the SMS step.
    pub destination: Option<String>,
    /// The app's authorize request, for the page's other sign-in buttons.
    pub authorize: Vec<(String, String)>,
    /// What the user should know before this step (a password just reset, ...).
    pub notice: Option<String>,
    /// The authenticator to set up, on the `MFA_SETUP` step.
    pub totp_setup: Option<TotpSetup>,
}

/// The authorize request a sign-in record holds, as query fields.
pub(super) fn authorize_fields(flow: &FlowRecord) -> Vec<(String, String)> {
    let mut out = vec![
        ("response_type".to_owned(), "code".to_owned()),
        ("client_id".to_owned(), flow.client_id.clone()),
        ("redirect_uri".to_owned(), flow.redirect_uri.clone()),
        ("scope".to_owned(), flow.scope.clone()),
    ];
    for (k, v) in [
        ("state", &flow.app_state),
        ("nonce", &flow.nonce),
        ("code_challenge", &flow.code_challenge),
    ] {
        if let Some(v) = v {
            out.push((k.to_owned(), v.clone()));
        }
    }
    if flow.code_challenge.is_some() {
        out.push(("code_challenge_method".to_owned(), "S256".to_owned()));
    }
    out
}

/// What a submitted step leads to.
#[derive(Debug)]
pub enum HostedOutcome {
    Form(Box<HostedForm>),
    /// Signed in: back to the app with a code; the binding cookie `cookie_name` ends.
    Done {
        url: Url,
        cookie_name: String,
    },
    /// A step of the hosted sign-up or password reset (see [`super::hosted_account`]).
    Account(Box<AccountForm>),
}

/// The rules of `policy`, in words, for the new-password form.
pub fn policy_rules(policy: &PasswordPolicy) -> Vec<String> {
    let mut out = vec![format!("At least {} characters", policy.minimum_length)];
    for (on, rule) in [
        (policy.require_uppercase, "an uppercase letter (A-Z)"),
        (policy.require_lowercase, "a lowercase letter (a-z)"),
        (policy.require_numbers, "a number (0-9)"),
        (policy.require_symbols, "a symbol such as ! @ # or %"),
    ] {
        if on {
            out.push(format!("At least {rule}"));
        }
    }
    out
}

/// The refusal of a form that this browser did not get from poolgate.
fn forbidden() -> FlowError {
    FlowError::page(
        403,
        "This sign-in form was not opened in this browser, or it has expired. Start again from the app.",
    )
}

/// What the user reads when an answer is refused; `None`: the sign-in cannot go on.
fn user_message(step: HostedStep, e: &NativeError) -> Option<String> {
    match (step, e) {
        (HostedStep::Password, NativeError::NotAuthorized(m)) => Some(m.clone()),
        (_, NativeError::UserNotConfirmed) => Some("Your account is not confirmed yet.".into()),
        (_, NativeError::PasswordResetRequired) => {
            Some("You must reset your password before you can sign in.".into())
        }
        (_, NativeError::InvalidPassword(m) | NativeError::InvalidParameter(m)) => Some(m.clone()),
        (_, NativeError::CodeDeliveryFailure(_)) => Some(
            "Your authentication code could not be sent. Try again later, or ask your administrator."
                .into(),
        ),
        (HostedStep::MfaSetup, NativeError::EnableSoftwareTokenMfa) => Some(
            "That code is not correct. Enter the current 6-digit code your authenticator app shows for this account."
                .into(),
        ),
        (HostedStep::Sms, NativeError::CodeMismatch) => Some(
            "That code is not correct. Enter the 6-digit code from the text message we sent."
                .into(),
        ),
        (_, NativeError::CodeMismatch) => Some(
            "That code is not correct. Enter the current 6-digit code from your authenticator app."
                .into(),
        ),
        _ => None,
    }
}

impl Flow {
    /// Begins a hosted password sign-in for the validated authorize request `p`.
    pub async fn hosted_begin(
        &self,
        ctx: &PoolCtx,
        p: &AuthorizeParams,
    ) -> Result<HostedBegin, FlowError> {
        self.hosted_begin_at(ctx, p, PASSWORD)
            .await
            .map(|(b, _, _)| b)
    }

    /// Begins a hosted sign-in record whose first form is `step` (the password, or
    /// the sign-up and reset forms of [`super::hosted_account`]); also the client.
    pub(super) async fn hosted_begin_at(
        &self,
        ctx: &PoolCtx,
        p: &AuthorizeParams,
        step: &str,
    ) -> Result<(HostedBegin, AppClient, FlowRecord), FlowError> {
        let (client, redirect, scope) = self.validate_authorize(ctx, p).await?;
        if !client
            .supported_identity_providers
            .iter()
            .any(|n| n == NATIVE_PROVIDER)
        {
            return Err(FlowError::page(
                400,
                "This app does not allow signing in with a username and password.",
            ));
        }
        let csrf_token = random_token(32);
        let binding = random_token(32);
        let mut upstream = UpstreamState::default();
        upstream.set(STEP, step);
        let record = FlowRecord {
            client_id: client.client_id.clone(),
            redirect_uri: redirect,
            app_state: p.state.clone(),
            scope,
            nonce: p.nonce.clone(),
            code_challenge: p.code_challenge.clone(),
            provider: NATIVE_PROVIDER.into(),
            upstream,
            binding_hash: sha256_hex(&binding),
            created_at: self.clock.now(),
        };
        self.put_hosted(ctx, &csrf_token, &record).await?;
        let begun = HostedBegin {
            cookie: BindingCookie {
                name: binding::cookie_name(ctx, &csrf_token),
                value: binding,
            },
            csrf_token,
        };
        Ok((begun, client, record))
    }

    pub(super) async fn put_hosted(
        &self,
        ctx: &PoolCtx,
        key: &str,
        record: &FlowRecord,
    ) -> Result<(), FlowError> {
        let bytes = serde_json::to_vec(record)
            .map_err(|e| FlowError::internal("encode the sign-in record", e))?;
        self.store
            .put(&ctx.pool.id, EphemeralKind::Flow, key, &bytes, FLOW_TTL)
            .await?;
        Ok(())
    }

    /// Ends a hosted sign-in (its record taken); it would expire by itself anyway.
    async fn end_hosted(&self, ctx: &PoolCtx, token: &str) {
        if let Err(se) = self
            .store
            .take(&ctx.pool.id, EphemeralKind::Flow, token)
            .await
        {
            tracing::warn!(error = %se, "could not end a failed sign-in; it expires by itself");
        }
    }

    /// The sign-in record a posted form names by its `csrf_token`, when this browser
    /// carries its binding cookie; anything else is refused and changes nothing.
    pub(super) async fn load_hosted(
        &self,
        ctx: &PoolCtx,
        form: &BTreeMap<String, String>,
        cookies: &BTreeMap<String, String>,
    ) -> Result<(String, FlowRecord), FlowError> {
        let token = form
            .get("csrf_token")
            .filter(|t| !t.is_empty() && t.len() <= 128)
            .ok_or_else(forbidden)?;
        let bytes = self
            .store
            .get(&ctx.pool.id, EphemeralKind::Flow, token)
            .await?
            .ok_or_else(forbidden)?;
        let flow: FlowRecord = serde_json::from_slice(&bytes)
            .map_err(|e| FlowError::internal("decode the sign-in record", e))?;
        if flow.provider != NATIVE_PROVIDER
            || !binding::is_bound(ctx, token, &flow.binding_hash, cookies)
        {
            tracing::warn!(pool = %ctx.pool.id, "hosted sign-in form posted without its browser binding");
            return Err(forbidden());
        }
        Ok((token.clone(), flow))
    }

    /// A submitted step of the hosted password sign-in. `form` is the posted form,
    /// `cookies` the request's. A form without this browser's token changes nothing.
    pub async fn hosted_submit(
        &self,
        ctx: &PoolCtx,
        form: &BTreeMap<String, String>,
        cookies: &BTreeMap<String, String>,
        caller: Caller,
    ) -> Result<HostedOutcome, FlowError> {
        let (token, mut flow) = self.load_hosted(ctx, form, cookies).await?;
        let token = token.as_str();
        let step = flow
            .upstream
            .get(STEP)
            .and_then(HostedStep::from_name)
            .ok_or_else(forbidden)?;
        let client = self
            .store
            .get_client(&ctx.pool.id, &flow.client_id)
            .await?
            .ok_or_else(|| FlowError::page(400, "The app client was removed."))?;
        let field = |n: &str| form.get(n).map(String::as_str).unwrap_or("");
        let session = flow.upstream.get(SESSION).map(str::to_owned);
        let known_user = flow.upstream.get(USERNAME).unwrap_or("").to_owned();
        let destination = flow.upstream.get(DESTINATION).map(str::to_owned);
        let totp_setup = setup_view(&ctx.pool, &known_user, flow.upstream.get(TOTP_SECRET));
        let form_page = |error: Option<String>, username: String| {
            HostedOutcome::Form(Box::new(HostedForm {
                step,
                client: client.clone(),
                redirect_uri: flow.redirect_uri.clone(),
                error,
                username,
                destination: destination.clone(),
                authorize: authorize_fields(&flow),
                notice: None,
                totp_setup: totp_setup.clone(),
            }))
        };
        let result = match step {
            HostedStep::Password => {
                let username = field("username").trim();
                let password = field("password");
                if username.is_empty() || password.is_empty() {
                    return Ok(form_page(
                        Some("Enter your username and your password.".into()),
                        username.to_owned(),
                    ));
                }
                self.password_sign_in(ctx, &client, username, password, &caller, true)
                    .await
            }
            HostedStep::NewPassword => {
                let new = field("new_password");
                if new.is_empty() || new != field("confirm_password") {
                    return Ok(form_page(
                        Some("The two passwords must be the same.".into()),
                        known_user,
                    ));
                }
                let mut r = BTreeMap::new();
                r.insert("NEW_PASSWORD".to_owned(), new.to_owned());
                r.insert("USERNAME".to_owned(), known_user.clone());
                self.new_password_required(ctx, &client, session.as_deref(), &r, &caller, true)
                    .await
            }
            HostedStep::Totp => {
                let code = field("code").trim();
                if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
                    return Ok(form_page(
                        Some("Enter the 6-digit code from your authenticator app.".into()),
                        known_user,
                    ));
                }
                let mut r = BTreeMap::new();
                r.insert("SOFTWARE_TOKEN_MFA_CODE".to_owned(), code.to_owned());
                self.software_token_mfa(ctx, &client, session.as_deref(), &r, &caller, true)
                    .await
            }
            HostedStep::Sms => {
                let code = field("code").trim();
                if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
                    return Ok(form_page(
                        Some("Enter the 6-digit code from the text message we sent.".into()),
                        known_user,
                    ));
                }
                let mut r = BTreeMap::new();
                r.insert("SMS_MFA_CODE".to_owned(), code.to_owned());
                self.sms_mfa(ctx, &client, session.as_deref(), &r, &caller, true)
                    .await
            }
            HostedStep::SelectMfa => {
                let answer = field("mfa");
                if answer != "SMS_MFA" && answer != "SOFTWARE_TOKEN_MFA" {
                    return Ok(form_page(
                        Some("Choose how to receive your authentication code.".into()),
                        known_user,
                    ));
                }
                let mut r = BTreeMap::new();
                r.insert("ANSWER".to_owned(), answer.to_owned());
                self.select_mfa_type(ctx, &client, session.as_deref(), &r, &caller, true)
                    .await
            }
            HostedStep::MfaSetup => {
                let code = field("code").trim();
                if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
                    return Ok(form_page(
                        Some("Enter the 6-digit code your authenticator app shows.".into()),
                        known_user,
                    ));
                }
                self.hosted_mfa_setup(ctx, &client, session.as_deref(), code, &known_user, &caller)
                    .await
            }
        };
        match result {
            Ok(AuthOutcome::Authenticated { user, auth_time }) => {
                let url = self
                    .issue_code(
                        ctx,
                        &flow,
                        &user,
                        Some(token),
                        NATIVE_PROVIDER,
                        auth_time,
                        None,
                    )
                    .await?;
                Ok(HostedOutcome::Done {
                    url,
                    cookie_name: binding::cookie_name(ctx, token),
                })
            }
            Ok(AuthOutcome::Challenge {
                name,
                session,
                parameters,
            }) => {
                let next = HostedStep::from_name(name).ok_or_else(|| {
                    FlowError::internal("the hosted sign-in step", format!("no form for {name}"))
                })?;
                let username = match step {
                    HostedStep::Password => field("username").trim().to_owned(),
                    _ => known_user,
                };
                let destination = parameters.get("CODE_DELIVERY_DESTINATION").cloned();
                // Setting up an authenticator: its secret at once, for the page to show.
                let (session, secret) = if next == HostedStep::MfaSetup {
                    let (secret, session) =
                        self.hosted_setup_secret(ctx, session.as_deref()).await?;
                    (Some(session), Some(secret))
                } else {
                    (session, None)
                };
                let totp_setup = setup_view(&ctx.pool, &username, secret.as_deref());
                flow.upstream.set(TOTP_SECRET, secret.unwrap_or_default());
                flow.upstream.set(STEP, name);
                flow.upstream.set(USERNAME, username.clone());
                flow.upstream.set(SESSION, session.unwrap_or_default());
                flow.upstream
                    .set(DESTINATION, destination.clone().unwrap_or_default());
                self.put_hosted(ctx, token, &flow).await?;
                Ok(HostedOutcome::Form(Box::new(HostedForm {
                    step: next,
                    client,
                    redirect_uri: flow.redirect_uri.clone(),
                    error: None,
                    username,
                    destination,
                    authorize: authorize_fields(&flow),
                    notice: None,
                    totp_setup,
                })))
            }
            Ok(AuthOutcome::Tokens(_)) => Err(FlowError::internal(
                "the hosted sign-in step",
                "tokens answered to a challenge response",
            )),
            Err(NativeError::Flow(e)) => Err(e),
            Err(NativeError::Hook(e)) => {
                // A hook failed or refused (pre-authentication, the SMS sender, ...):
                // the sign-in ends and the app hears `access_denied`, as a federated
                // sign-in's hook failure.
                self.end_hosted(ctx, token).await;
                Err(FlowError::redirect(
                    &flow.redirect_uri,
                    e.oauth_error(),
                    &e.to_string(),
                    flow.app_state.as_deref(),
                ))
            }
            // A user who must reset the password (imported, or reset by an admin) is
            // taken to the reset form, their name filled in.
            Err(NativeError::PasswordResetRequired)
                if step == HostedStep::Password && self.can_mail(&ctx.pool) =>
            {
                let username = field("username").trim().to_owned();
                flow.upstream.set(STEP, AccountStep::Forgot.name());
                flow.upstream.set(USERNAME, username.clone());
                self.put_hosted(ctx, token, &flow).await?;
                let mut f = AccountForm::new(AccountStep::Forgot, client, &flow, username);
                f.notice = Some(
                    "You must reset your password before you can sign in. Send yourself a code to set a new one."
                        .into(),
                );
                Ok(HostedOutcome::Account(Box::new(f)))
            }
            Err(e) => match user_message(step, &e) {
                Some(m) => {
                    let username = match step {
                        HostedStep::Password => field("username").trim().to_owned(),
                        _ => known_user,
                    };
                    Ok(form_page(Some(m), username))
                }
                None => {
                    // The challenge's session is gone (expired, or too many wrong
                    // codes): this sign-in ends.
                    self.end_hosted(ctx, token).await;
                    Err(FlowError::page(
                        400,
                        "This sign-in has expired. Start again from the app.",
                    ))
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_follow_the_policy() {
        let p = PasswordPolicy {
            minimum_length: 12,
            require_symbols: false,
            require_numbers: true,
            ..Default::default()
        };
        let rules = policy_rules(&p);
        assert_eq!(rules[0], "At least 12 characters");
        assert!(rules.iter().any(|r| r.contains("number")));
        assert!(!rules.iter().any(|r| r.contains("symbol")));
    }

    #[test]
    fn a_gone_session_ends_the_challenge_steps_only() {
        let na = NativeError::NotAuthorized("Invalid session for the user.".into());
        assert!(user_message(HostedStep::Password, &na).is_some());
        assert!(user_message(HostedStep::Totp, &na).is_none());
        assert!(user_message(HostedStep::NewPassword, &na).is_none());
        assert!(user_message(HostedStep::Totp, &NativeError::CodeMismatch).is_some());
    }
}
