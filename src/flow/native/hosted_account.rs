//! The hosted page's self-service steps, at the paths of Cognito's hosted UI: sign-up
//! (`/signup`, then the mailed code at `/confirm`, then the app's code as a sign-in
//! ends) and the password reset (`/forgotPassword`, then the code and the new password
//! at `/confirmForgotPassword`, then the sign-in form again). Each step is a hosted
//! sign-in record bound to the browser as the password form's (its key is the form's
//! CSRF token), and each calls the operation the Cognito API calls (`SignUp`,
//! `ConfirmSignUp`, `ForgotPassword`, ...), so both interfaces keep one set of rules,
//! including what an answer may tell about who has an account.

use std::collections::BTreeMap;

use super::NativeError;
use super::hosted::{
    HostedBegin, HostedForm, HostedOutcome, HostedStep, PASSWORD, STEP, USERNAME, authorize_fields,
};
use super::signup::SignUpInput;
use crate::flow::authorize::{AuthorizeParams, NATIVE_PROVIDER};
use crate::flow::{Flow, FlowError, FlowRecord, PoolCtx, binding};
use crate::model::AppClient;
use crate::store::credentials::UserStatus;

/// The self-service forms of the hosted page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountStep {
    /// Username, email and password.
    SignUp,
    /// The code mailed at sign-up.
    ConfirmSignUp,
    /// The username whose password is to be reset.
    Forgot,
    /// The mailed reset code and the new password.
    ConfirmForgot,
}

impl AccountStep {
    /// The step's name in the sign-in record.
    pub fn name(self) -> &'static str {
        match self {
            Self::SignUp => "SIGN_UP",
            Self::ConfirmSignUp => "CONFIRM_SIGN_UP",
            Self::Forgot => "FORGOT_PASSWORD",
            Self::ConfirmForgot => "CONFIRM_FORGOT_PASSWORD",
        }
    }

    fn from_name(s: &str) -> Option<Self> {
        [
            Self::SignUp,
            Self::ConfirmSignUp,
            Self::Forgot,
            Self::ConfirmForgot,
        ]
        .into_iter()
        .find(|x| x.name() == s)
    }

    /// Where the step's form is shown and posted (Cognito's hosted UI paths).
    pub fn path(self) -> &'static str {
        match self {
            Self::SignUp => "/signup",
            Self::ConfirmSignUp => "/confirm",
            Self::Forgot => "/forgotPassword",
            Self::ConfirmForgot => "/confirmForgotPassword",
        }
    }
}

/// A self-service form to show (again).
#[derive(Debug)]
pub struct AccountForm {
    pub step: AccountStep,
    pub client: AppClient,
    pub redirect_uri: String,
    /// What went wrong with the last answer, and the field it is about.
    pub error: Option<String>,
    pub error_field: Option<&'static str>,
    /// What the user should know on this step (where the code went, ...).
    pub notice: Option<String>,
    pub username: String,
    pub email: String,
    /// The app's authorize request (for the link back to the sign-in form).
    pub authorize: Vec<(String, String)>,
}

impl AccountForm {
    pub(super) fn new(
        step: AccountStep,
        client: AppClient,
        flow: &FlowRecord,
        username: String,
    ) -> Self {
        Self {
            step,
            client,
            redirect_uri: flow.redirect_uri.clone(),
            error: None,
            error_field: None,
            notice: None,
            username,
            email: String::new(),
            authorize: authorize_fields(flow),
        }
    }

    fn with_error(mut self, field: &'static str, message: impl Into<String>) -> Self {
        self.error = Some(message.into());
        self.error_field = Some(field);
        self
    }
}

/// Which self-service links the sign-in form shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountLinks {
    pub sign_up: bool,
    pub forgot_password: bool,
}

/// Whether the pool lets users sign themselves up (Cognito's
/// `AdminCreateUserConfig.AllowAdminCreateUserOnly` false).
fn self_sign_up(ctx: &PoolCtx) -> bool {
    !ctx.pool
        .settings
        .admin_create_user_config
        .allow_admin_create_user_only
}

fn supports_native(client: &AppClient) -> bool {
    client
        .supported_identity_providers
        .iter()
        .any(|n| n == NATIVE_PROVIDER)
}

fn sign_up_closed() -> FlowError {
    FlowError::page(404, "Sign-up is not available for this app.")
}

fn reset_closed() -> FlowError {
    FlowError::page(
        404,
        "Password reset is not available here. Please contact the app's administrator.",
    )
}

/// The field an error of `step` is about, and what the user reads; `None`: the error
/// ends the page (a fault of the gateway or the store).
fn account_message(step: AccountStep, e: &NativeError) -> Option<(&'static str, String)> {
    let first = match step {
        AccountStep::SignUp | AccountStep::Forgot => "username",
        AccountStep::ConfirmSignUp | AccountStep::ConfirmForgot => "code",
    };
    let password = if step == AccountStep::SignUp {
        "password"
    } else {
        "new_password"
    };
    Some(match e {
        NativeError::Flow(_) => return None,
        NativeError::UsernameExists => (
            "username",
            "An account with this username already exists.".into(),
        ),
        NativeError::InvalidPassword(m) => (password, m.clone()),
        NativeError::CodeMismatch => (
            "code",
            "That code is not correct. Check the email we sent you and try again.".into(),
        ),
        NativeError::ExpiredCode => (
            "code",
            "That code has expired or was tried too many times. Send a new code and try again."
                .into(),
        ),
        NativeError::CodeDeliveryFailure(_) => (
            first,
            "We could not send you a code. Please try again later.".into(),
        ),
        NativeError::Hook(h @ crate::hooks::HookError::Refused { .. }) => (first, h.to_string()),
        NativeError::Hook(_) => (
            first,
            "Something went wrong on our side. Please try again later.".into(),
        ),
        other => (first, other.to_string()),
    })
}

impl Flow {
    /// The self-service links of the sign-in form of `client`: sign-up when the pool
    /// allows it, the password reset when codes can be mailed; neither unless the
    /// client supports `COGNITO`.
    pub fn account_links(&self, ctx: &PoolCtx, client: &AppClient) -> AccountLinks {
        let native = supports_native(client);
        AccountLinks {
            sign_up: native && self_sign_up(ctx),
            forgot_password: native && self.can_mail(&ctx.pool),
        }
    }

    /// Begins the sign-up or the password reset for the authorize request `p`.
    pub async fn account_begin(
        &self,
        ctx: &PoolCtx,
        p: &AuthorizeParams,
        step: AccountStep,
    ) -> Result<(HostedBegin, AccountForm), FlowError> {
        match step {
            AccountStep::SignUp if !self_sign_up(ctx) => return Err(sign_up_closed()),
            AccountStep::Forgot if !self.can_mail(&ctx.pool) => return Err(reset_closed()),
            AccountStep::SignUp | AccountStep::Forgot => {}
            _ => return Err(FlowError::page(404, "No such page.")),
        }
        let (begun, client, record) = self.hosted_begin_at(ctx, p, step.name()).await?;
        let username = p
            .login_hint
            .clone()
            .filter(|h| h.len() <= 128)
            .unwrap_or_default();
        let form = AccountForm::new(step, client, &record, username);
        Ok((begun, form))
    }

    /// A `SECRET_HASH` for a client with a secret: the hosted page is the client's own
    /// page, so it proves the client itself (with its newest secret).
    fn hosted_secret_hash(&self, client: &AppClient, username: &str) -> Option<String> {
        self.client_secrets(client)
            .last()
            .map(|s| crate::native::secret_hash(s.expose(), username, &client.client_id))
    }

    /// A submitted self-service step, posted to the path of `posted`. A form without
    /// this browser's token, or of another step, changes nothing.
    pub async fn account_submit(
        &self,
        ctx: &PoolCtx,
        form: &BTreeMap<String, String>,
        cookies: &BTreeMap<String, String>,
        posted: AccountStep,
    ) -> Result<HostedOutcome, FlowError> {
        let (token, mut flow) = self.load_hosted(ctx, form, cookies).await?;
        let step = flow.upstream.get(STEP).and_then(AccountStep::from_name);
        if step != Some(posted) {
            return Err(FlowError::page(
                400,
                "This form is out of date. Start again from the app.",
            ));
        }
        if posted == AccountStep::SignUp && !self_sign_up(ctx) {
            return Err(sign_up_closed());
        }
        let client = self
            .store
            .get_client(&ctx.pool.id, &flow.client_id)
            .await?
            .ok_or_else(|| FlowError::page(400, "The app client was removed."))?;
        let field = |n: &str| form.get(n).map(String::as_str).unwrap_or("");
        let known = flow.upstream.get(USERNAME).unwrap_or("").to_owned();
        let page =
            |username: &str| AccountForm::new(posted, client.clone(), &flow, username.to_owned());
        let refused = |e: NativeError, f: AccountForm| match account_message(posted, &e) {
            Some((field, m)) => Ok(HostedOutcome::Account(Box::new(f.with_error(field, m)))),
            None => match e {
                NativeError::Flow(fe) => Err(fe),
                other => Err(FlowError::internal("the hosted account step", other)),
            },
        };
        match posted {
            AccountStep::SignUp => {
                let username = field("username").trim();
                let email = field("email").trim();
                let password = field("password");
                let mut again = page(username);
                again.email = email.to_owned();
                let missing = [
                    ("username", username, "Enter a username."),
                    ("email", email, "Enter your email address."),
                    ("password", password, "Enter a password."),
                ]
                .into_iter()
                .find(|(_, v, _)| v.is_empty());
                if let Some((f, _, m)) = missing {
                    return Ok(HostedOutcome::Account(Box::new(again.with_error(f, m))));
                }
                if email.len() > 254 || !email.contains('@') {
                    return Ok(HostedOutcome::Account(Box::new(again.with_error(
                        "email",
                        "Enter an email address such as name@example.com.",
                    ))));
                }
                let input = SignUpInput {
                    username: username.to_owned(),
                    password: password.to_owned(),
                    secret_hash: self.hosted_secret_hash(&client, username),
                    attributes: vec![("email".to_owned(), email.to_owned())],
                    validation_data: None,
                    client_metadata: None,
                };
                match self.sign_up(ctx, &client, input).await {
                    Ok(r) if r.confirmed => {
                        self.account_sign_in(ctx, &client, &flow, &token, username)
                            .await
                    }
                    Ok(r) => {
                        flow.upstream.set(STEP, AccountStep::ConfirmSignUp.name());
                        flow.upstream.set(USERNAME, username);
                        self.put_hosted(ctx, &token, &flow).await?;
                        let mut f = AccountForm::new(
                            AccountStep::ConfirmSignUp,
                            client,
                            &flow,
                            username.to_owned(),
                        );
                        f.notice = Some(sent_to(r.delivery.as_ref().map(|d| &d.destination)));
                        Ok(HostedOutcome::Account(Box::new(f)))
                    }
                    Err(e) => refused(e, again),
                }
            }
            AccountStep::ConfirmSignUp => {
                let hash = self.hosted_secret_hash(&client, &known);
                if field("action") == "resend" {
                    return match self
                        .resend_confirmation_code(ctx, &client, &known, hash.as_deref(), None)
                        .await
                    {
                        Ok(d) => {
                            let mut f = page(&known);
                            f.notice = Some(sent_to(Some(&d.destination)));
                            Ok(HostedOutcome::Account(Box::new(f)))
                        }
                        Err(e) => refused(e, page(&known)),
                    };
                }
                let code = field("code").trim();
                if !is_code(code) {
                    return Ok(HostedOutcome::Account(Box::new(page(&known).with_error(
                        "code",
                        "Enter the 6-digit code from the email we sent you.",
                    ))));
                }
                match self
                    .confirm_sign_up(ctx, &client, &known, code, hash.as_deref(), None)
                    .await
                {
                    Ok(()) => {
                        self.account_sign_in(ctx, &client, &flow, &token, &known)
                            .await
                    }
                    Err(e) => refused(e, page(&known)),
                }
            }
            AccountStep::Forgot => {
                let username = field("username").trim();
                if username.is_empty() {
                    return Ok(HostedOutcome::Account(Box::new(
                        page(username).with_error("username", "Enter your username."),
                    )));
                }
                let hash = self.hosted_secret_hash(&client, username);
                match self
                    .forgot_password(ctx, &client, username, hash.as_deref(), None)
                    .await
                {
                    Ok(d) => {
                        flow.upstream.set(STEP, AccountStep::ConfirmForgot.name());
                        flow.upstream.set(USERNAME, username);
                        self.put_hosted(ctx, &token, &flow).await?;
                        let mut f = AccountForm::new(
                            AccountStep::ConfirmForgot,
                            client,
                            &flow,
                            username.to_owned(),
                        );
                        f.notice = Some(sent_to(Some(&d.destination)));
                        Ok(HostedOutcome::Account(Box::new(f)))
                    }
                    Err(e) => refused(e, page(username)),
                }
            }
            AccountStep::ConfirmForgot => {
                let hash = self.hosted_secret_hash(&client, &known);
                if field("action") == "resend" {
                    return match self
                        .forgot_password(ctx, &client, &known, hash.as_deref(), None)
                        .await
                    {
                        Ok(d) => {
                            let mut f = page(&known);
                            f.notice = Some(sent_to(Some(&d.destination)));
                            Ok(HostedOutcome::Account(Box::new(f)))
                        }
                        Err(e) => refused(e, page(&known)),
                    };
                }
                let code = field("code").trim();
                let new = field("new_password");
                if !is_code(code) {
                    return Ok(HostedOutcome::Account(Box::new(page(&known).with_error(
                        "code",
                        "Enter the 6-digit code from the email we sent you.",
                    ))));
                }
                if new.is_empty() || new != field("confirm_password") {
                    return Ok(HostedOutcome::Account(Box::new(page(&known).with_error(
                        "new_password",
                        "The two passwords must be the same.",
                    ))));
                }
                match self
                    .confirm_forgot_password(ctx, &client, &known, code, new, hash.as_deref(), None)
                    .await
                {
                    Ok(()) => {
                        // Back to the sign-in form of the same record, the name filled in.
                        flow.upstream.set(STEP, PASSWORD);
                        self.put_hosted(ctx, &token, &flow).await?;
                        Ok(HostedOutcome::Form(Box::new(HostedForm {
                            step: HostedStep::Password,
                            client,
                            redirect_uri: flow.redirect_uri.clone(),
                            error: None,
                            username: known,
                            destination: None,
                            authorize: authorize_fields(&flow),
                            notice: Some(
                                "Your password has been reset. Sign in with your new password."
                                    .into(),
                            ),
                            totp_setup: None,
                        })))
                    }
                    Err(e) => refused(e, page(&known)),
                }
            }
        }
    }

    /// Ends a sign-up that this browser just confirmed: the user is signed in and the
    /// app gets its code, as after the password form (the `PreAuthentication` hook
    /// first, then the hooks of any sign-in).
    async fn account_sign_in(
        &self,
        ctx: &PoolCtx,
        client: &AppClient,
        flow: &FlowRecord,
        token: &str,
        username: &str,
    ) -> Result<HostedOutcome, FlowError> {
        let gone = || {
            FlowError::page(
                400,
                "This sign-up can no longer continue. Sign in from the app.",
            )
        };
        let found = self
            .native_user(&ctx.pool.id, username)
            .await
            .map_err(native_fault)?;
        let Some((user, Some(cred))) = found else {
            return Err(gone());
        };
        if !user.enabled || cred.status != UserStatus::Confirmed {
            return Err(gone());
        }
        if let Err(e) = self
            .pre_authentication(ctx, client, &user, cred.status, None)
            .await
        {
            return match e {
                NativeError::Flow(fe) => Err(fe),
                other => Err(FlowError::redirect(
                    &flow.redirect_uri,
                    "access_denied",
                    &other.to_string(),
                    flow.app_state.as_deref(),
                )),
            };
        }
        let url = self
            .issue_code(
                ctx,
                flow,
                &user,
                Some(token),
                NATIVE_PROVIDER,
                self.clock.now(),
                None,
            )
            .await?;
        Ok(HostedOutcome::Done {
            url,
            cookie_name: binding::cookie_name(ctx, token),
        })
    }
}

fn native_fault(e: NativeError) -> FlowError {
    match e {
        NativeError::Flow(fe) => fe,
        other => FlowError::internal("the hosted account step", other),
    }
}

/// A mailed code: 6 digits.
fn is_code(code: &str) -> bool {
    code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())
}

/// Where the code went, in words (the masked address, as `CodeDeliveryDetails`).
fn sent_to(destination: Option<&String>) -> String {
    match destination {
        Some(d) => format!("We sent a code by email to {d}. Enter it below."),
        None => "We sent a code by email. Enter it below.".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_round_trip_and_have_cognito_paths() {
        for s in [
            AccountStep::SignUp,
            AccountStep::ConfirmSignUp,
            AccountStep::Forgot,
            AccountStep::ConfirmForgot,
        ] {
            assert_eq!(AccountStep::from_name(s.name()), Some(s));
        }
        assert_eq!(AccountStep::from_name(PASSWORD), None);
        assert_eq!(AccountStep::Forgot.path(), "/forgotPassword");
        assert_eq!(AccountStep::ConfirmSignUp.path(), "/confirm");
    }

    #[test]
    fn messages_name_the_field_to_correct() {
        let (f, m) = account_message(AccountStep::SignUp, &NativeError::UsernameExists).unwrap();
        assert_eq!(f, "username");
        assert!(m.contains("already exists"));
        let (f, _) = account_message(
            AccountStep::ConfirmForgot,
            &NativeError::InvalidPassword("p".into()),
        )
        .unwrap();
        assert_eq!(f, "new_password");
        let (f, _) =
            account_message(AccountStep::ConfirmSignUp, &NativeError::ExpiredCode).unwrap();
        assert_eq!(f, "code");
        assert!(
            account_message(
                AccountStep::SignUp,
                &NativeError::Flow(FlowError::Unavailable)
            )
            .is_none()
        );
        assert!(is_code("012345") && !is_code("12345") && !is_code("12345a"));
    }
}
