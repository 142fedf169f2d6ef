//! "Test sign-in" of a provider: a real sign-in through it with the pool's built-in
//! test client (made on demand, public, PKCE), bound to the browser that began it,
//! whose code is exchanged here and whose tokens are shown decoded, never kept: the
//! refresh token is revoked at once. A user the test created carries
//! [`TEST_USER_ATTRIBUTE`] and is removable as a test user; nothing else is stored.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::builtin_client::{CodeFlow, NAMESPACE};
use super::error::{AdminError, AdminResult};
use super::service::Admin;
use crate::flow::test_trace::{TestStep, TestTrace, TracedIdentity};
use crate::flow::{FlowError, PoolCtx};
use crate::model::{AppClient, TEST_CLIENT_ID, TEST_USER_ATTRIBUTE};
use crate::secret::{random_token, sha256_hex};
use crate::store::{EphemeralKind, UserPatch};

/// How long a test may take at the provider.
pub const RUN_TTL_S: u64 = 600;
/// How long the result page's "Remove test user" works.
const REMOVAL_TTL_S: u64 = 3600;

/// Where the browser goes to begin a test, and the value of the cookie binding the
/// test to it.
pub use super::builtin_client::SignInStart as TestStart;

#[derive(Serialize, Deserialize)]
struct Run {
    #[serde(flatten)]
    flow: CodeFlow,
    provider: String,
}

#[derive(Serialize, Deserialize)]
struct Removal {
    pool: String,
    username: String,
}

/// The step of a test sign-in that failed, as the result page names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailedStep {
    /// The answer did not belong to a test begun in this browser (state mismatch).
    State,
    /// The gateway refused to begin the sign-in.
    Start,
    Upstream,
    Mapping,
    User,
    Hook,
    /// The code could not be exchanged for tokens.
    Exchange,
}

impl From<TestStep> for FailedStep {
    fn from(s: TestStep) -> Self {
        match s {
            TestStep::Upstream => FailedStep::Upstream,
            TestStep::Mapping => FailedStep::Mapping,
            TestStep::User => FailedStep::User,
            TestStep::Hook => FailedStep::Hook,
        }
    }
}

/// What a test sign-in showed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TestReport {
    pub provider: String,
    pub provider_type: String,
    pub identity: Option<TracedIdentity>,
    pub mapped: Map<String, Value>,
    pub username: Option<String>,
    /// Whether the test created the user (a test user) or signed in as an existing one.
    pub created: bool,
    pub id_claims: Map<String, Value>,
    pub access_claims: Map<String, Value>,
    /// Authorizes "Remove test user" (with the console session) for the user created.
    #[serde(skip)]
    pub removal: Option<String>,
    pub failed: Option<(FailedStep, String)>,
}

impl TestReport {
    fn from_trace(trace: Option<TestTrace>) -> Self {
        let Some(t) = trace else {
            return TestReport::default();
        };
        TestReport {
            provider: t.provider,
            provider_type: t.provider_type,
            identity: t.identity,
            mapped: t.mapped,
            username: t.user.as_ref().map(|u| u.username.clone()),
            created: t.user.as_ref().is_some_and(|u| u.created),
            failed: t.failed.map(|(s, d)| (s.into(), d)),
            ..TestReport::default()
        }
    }

    fn failed(mut self, step: FailedStep, detail: impl Into<String>) -> Self {
        self.failed = Some((step, detail.into()));
        self
    }
}

fn ttl(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// The payload of a JWT this gateway just issued, decoded (not verified: it was signed
/// a moment ago by this process and is only displayed).
fn payload(jwt: &str) -> Map<String, Value> {
    jwt.split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<Map<String, Value>>(&b).ok())
        .unwrap_or_default()
}

fn exchange_problem(e: &FlowError) -> String {
    match e {
        FlowError::OAuth {
            code, description, ..
        } => format!("the token endpoint refused the code: {code} ({description})"),
        FlowError::Unavailable => "the store was unavailable".to_owned(),
        _ => "an internal error; the gateway log has the cause".to_owned(),
    }
}

impl Admin {
    /// The pool's test client, made or brought up to date: public, code flow, every
    /// provider of the pool, `redirect_uri` among its callback URLs.
    async fn test_client(&self, pool: &str, redirect_uri: &str) -> AdminResult<AppClient> {
        let providers: Vec<String> = self
            .store
            .list_providers(pool)
            .await?
            .into_iter()
            .map(|p| p.name)
            .collect();
        self.builtin_client(
            pool,
            TEST_CLIENT_ID,
            "poolgate test sign-in (built-in)",
            redirect_uri,
            providers,
        )
        .await
    }

    /// Begins a test sign-in through `provider` of `pool`, on the pool domain `ctx`
    /// (its `base` and `issuer`), coming back to `redirect_uri` (the console's).
    pub async fn begin_test_sign_in(
        &self,
        ctx: &PoolCtx,
        provider: &str,
        redirect_uri: &str,
    ) -> AdminResult<TestStart> {
        let pool = &ctx.pool.id;
        self.get_provider(pool, provider).await?;
        self.test_client(pool, redirect_uri).await?;
        let begun = CodeFlow::begin(ctx, redirect_uri);
        let run = Run {
            flow: begun.flow,
            provider: provider.to_owned(),
        };
        self.keep_sign_in(
            EphemeralKind::ConsoleTest,
            &begun.state,
            &run,
            ttl(RUN_TTL_S),
        )
        .await?;
        let authorize = run.flow.authorize_url(
            ctx,
            TEST_CLIENT_ID,
            &begun.state,
            &random_token(16),
            &[("identity_provider", provider)],
        );
        Ok(TestStart {
            authorize,
            state: begun.state,
            binding: begun.binding,
        })
    }

    /// Finishes the test sign-in whose answer (`code` or `error`, and `state`) came
    /// back to the console of `pool`, in a browser whose binding cookie is `binding`.
    /// Its failures are a report naming the step, not an error.
    pub async fn finish_test_sign_in(
        &self,
        pool: &str,
        params: &BTreeMap<String, String>,
        binding: Option<&str>,
    ) -> AdminResult<TestReport> {
        let state = params.get("state").map(String::as_str).unwrap_or("");
        let refused = |why: &str| Ok(TestReport::default().failed(FailedStep::State, why));
        if state.is_empty() || state.len() > 128 {
            return refused(
                "The answer carries no state: it is not the answer to a test begun here.",
            );
        }
        let Some(run) = self
            .take_sign_in::<Run>(EphemeralKind::ConsoleTest, state)
            .await?
        else {
            return refused(
                "No test with this state is waiting: it took longer than 10 minutes, its result was already shown, or it was not begun here.",
            );
        };
        if run.flow.pool != pool || !run.flow.bound(binding) {
            return refused(
                "The answer arrived in a browser (or for a pool) that did not begin this test; nothing was signed in.",
            );
        }
        let trace = self.flow.take_trace(pool, state).await.unwrap_or(None);
        let mut report = TestReport::from_trace(trace);
        if report.provider.is_empty() {
            report.provider = run.provider.clone();
        }
        if report.failed.is_some() {
            return Ok(report);
        }
        if let Some(err) = params.get("error") {
            let desc = params
                .get("error_description")
                .map(String::as_str)
                .unwrap_or("");
            return Ok(report.failed(
                FailedStep::Start,
                format!("the gateway refused the sign-in: {err} ({desc})"),
            ));
        }
        let Some(code) = params.get("code") else {
            return Ok(report.failed(
                FailedStep::Start,
                "the answer carries neither a code nor an error",
            ));
        };
        let ctx = run.flow.ctx(self.pool(pool).await?)?;
        // The refresh token is not kept for anyone: revoked at once.
        let tokens = match self
            .exchange_code(&ctx, TEST_CLIENT_ID, &run.flow, code)
            .await
        {
            Ok(t) => t,
            Err(e) => return Ok(report.failed(FailedStep::Exchange, exchange_problem(&e))),
        };
        report.id_claims = payload(tokens.id_token.as_deref().unwrap_or(""));
        report.access_claims = payload(&tokens.access_token);
        if report.created
            && let Some(username) = report.username.clone()
        {
            report.removal = Some(self.mark_test_user(pool, &username).await?);
        }
        Ok(report)
    }

    /// Marks `username` as a test user; returns the token that authorizes its removal
    /// from the result page.
    async fn mark_test_user(&self, pool: &str, username: &str) -> AdminResult<String> {
        let user = self
            .store
            .get_user_by_username(pool, username)
            .await?
            .ok_or(AdminError::NotFound("the user"))?;
        let patch = UserPatch {
            set_attributes: BTreeMap::from([(
                TEST_USER_ATTRIBUTE.to_owned(),
                Value::String("true".into()),
            )]),
            ..UserPatch::default()
        };
        self.store.patch_user(pool, &user.id, &patch).await?;
        let token = random_token(32);
        let bytes = serde_json::to_vec(&Removal {
            pool: pool.to_owned(),
            username: username.to_owned(),
        })
        .map_err(|e| AdminError::internal("cannot encode the test user", e))?;
        self.store
            .put(
                NAMESPACE,
                EphemeralKind::ConsoleTestUser,
                &sha256_hex(&token),
                &bytes,
                ttl(REMOVAL_TTL_S),
            )
            .await?;
        Ok(token)
    }

    /// Removes the user a test created, named by the result page's token. Returns its
    /// username.
    pub async fn remove_test_run_user(&self, pool: &str, token: &str) -> AdminResult<String> {
        if token.is_empty() || token.len() > 128 {
            return Err(AdminError::NotFound("the test user"));
        }
        let key = sha256_hex(token);
        let raw = self
            .store
            .get(NAMESPACE, EphemeralKind::ConsoleTestUser, &key)
            .await?
            .ok_or(AdminError::NotFound("the test user"))?;
        let r: Removal = serde_json::from_slice(&raw)
            .map_err(|e| AdminError::internal("cannot read the test user", e))?;
        if r.pool != pool {
            return Err(AdminError::NotFound("the test user"));
        }
        self.remove_test_user(pool, &r.username).await?;
        self.store
            .take(NAMESPACE, EphemeralKind::ConsoleTestUser, &key)
            .await?;
        Ok(r.username)
    }

    /// Deletes `username` if it is a test user (marked by a test sign-in); any other
    /// user is refused and kept.
    pub async fn remove_test_user(&self, pool: &str, username: &str) -> AdminResult<()> {
        let info = self.get_user(pool, username).await?;
        if !is_test_user(&info.user) {
            return Err(AdminError::Conflict(
                "that user was not made by a test sign-in; it is kept".into(),
            ));
        }
        self.delete_user(pool, username).await
    }
}

/// Whether a user was made by a console test sign-in.
pub fn is_test_user(u: &crate::model::User) -> bool {
    u.attributes.contains_key(TEST_USER_ATTRIBUTE)
}
