//! What a sign-in of the pool's built-in test client (the console's "Test sign-in")
//! went through: the normalized upstream identity, the pool attributes it maps to and
//! the user it resolved to, or the step that refused it. Kept minutes under the test's
//! `state`, read once by the admin service; other clients' sign-ins record nothing.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{FLOW_TTL, Flow, FlowError, FlowRecord, PoolCtx};
use crate::model::{ProviderRecord, TEST_CLIENT_ID};
use crate::provider::UpstreamIdentity;
use crate::secret::sha256_hex;
use crate::store::EphemeralKind;

/// Which step of a sign-in refused it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestStep {
    /// The identity provider answered with an error, could not be reached, or its
    /// answer failed verification.
    Upstream,
    /// The identity could not become pool attributes (no subject).
    Mapping,
    /// The pool user could not be resolved (disabled, too many linked identities).
    User,
    /// A hook (Lambda trigger) refused the sign-in or answered unusably.
    Hook,
}

/// The normalized identity the provider's adapter produced.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TracedIdentity {
    pub subject: String,
    pub issuer: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub groups: Vec<String>,
}

/// The pool user a test sign-in resolved to.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TracedUser {
    pub id: String,
    pub username: String,
    /// Whether this sign-in created the user (else it signed in as an existing one).
    pub created: bool,
}

/// A test sign-in's trace.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TestTrace {
    pub provider: String,
    pub provider_type: String,
    pub identity: Option<TracedIdentity>,
    /// Pool attributes after the provider's mapping (email included).
    pub mapped: Map<String, Value>,
    pub user: Option<TracedUser>,
    pub failed: Option<(TestStep, String)>,
}

impl TestTrace {
    pub fn new(record: &ProviderRecord) -> Self {
        TestTrace {
            provider: record.name.clone(),
            provider_type: record.provider_type.as_str().to_owned(),
            ..TestTrace::default()
        }
    }

    /// Records the identity and its mapped attributes.
    pub fn identity(&mut self, upstream: &UpstreamIdentity, mapped: &crate::identity::Mapped) {
        self.identity = Some(TracedIdentity {
            subject: upstream.subject.clone(),
            issuer: upstream.issuer.clone(),
            email: upstream.email.clone(),
            email_verified: upstream.email_verified,
            name: upstream.name.clone(),
            groups: upstream.groups.clone(),
        });
        let mut m = Map::new();
        if let Some(e) = &mapped.email {
            m.insert("email".into(), Value::String(e.clone()));
            m.insert("email_verified".into(), Value::Bool(mapped.email_verified));
        }
        for (k, v) in &mapped.attributes {
            m.insert(k.clone(), v.clone());
        }
        self.mapped = m;
    }

    pub fn failed(mut self, step: TestStep, detail: impl Into<String>) -> Self {
        self.failed = Some((step, detail.into()));
        self
    }
}

/// Whether `flow` is a sign-in of the built-in test client.
pub fn is_test(flow: &FlowRecord) -> bool {
    flow.client_id == TEST_CLIENT_ID
}

impl Flow {
    /// Keeps `trace` for the test sign-in of `flow` (nothing for another client's). A
    /// failure to store it is logged: the sign-in itself goes on.
    pub(crate) async fn keep_trace(&self, ctx: &PoolCtx, flow: &FlowRecord, trace: &TestTrace) {
        let Some(state) = flow.app_state.as_deref().filter(|_| is_test(flow)) else {
            return;
        };
        let Ok(bytes) = serde_json::to_vec(trace) else {
            return;
        };
        if let Err(e) = self
            .store
            .put(
                &ctx.pool.id,
                EphemeralKind::TestTrace,
                &sha256_hex(state),
                &bytes,
                FLOW_TTL,
            )
            .await
        {
            tracing::warn!(error = %e, "could not keep a test sign-in's trace");
        }
    }

    /// Takes the trace of the test sign-in whose `state` is `state`, if any.
    pub async fn take_trace(
        &self,
        pool: &str,
        state: &str,
    ) -> Result<Option<TestTrace>, FlowError> {
        let Some(bytes) = self
            .store
            .take(pool, EphemeralKind::TestTrace, &sha256_hex(state))
            .await?
        else {
            return Ok(None);
        };
        Ok(serde_json::from_slice(&bytes).ok())
    }
}
