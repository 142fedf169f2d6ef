//! Prometheus metrics (`/metrics`), with prometheus-client's registry and text encoder.

use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SignInLabels {
    pub provider_type: String,
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GrantLabels {
    pub grant_type: String,
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DomainLabels {
    pub domain: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HookLabels {
    pub trigger: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HookFailureLabels {
    pub trigger: String,
    /// `refused`, `invalid` or `failed`.
    pub reason: String,
}

fn hook_histogram() -> Histogram {
    // 5 ms .. ~10 s: hooks time out at 5 s.
    Histogram::new(exponential_buckets(0.005, 2.0, 12))
}

pub struct Metrics {
    registry: Mutex<Registry>,
    pub sign_ins: Family<SignInLabels, Counter>,
    pub grants: Family<GrantLabels, Counter>,
    pub store_up: Gauge,
    /// Seconds until a custom domain's TLS certificate expires.
    pub cert_expiry_seconds: Family<DomainLabels, Gauge>,
    /// Seconds until a SAML IdP signing certificate expires (label: provider).
    pub saml_cert_expiry_seconds: Family<DomainLabels, Gauge>,
    /// Hook calls by trigger, failures by trigger and reason, and their latency.
    pub hook_calls: Family<HookLabels, Counter>,
    pub hook_failures: Family<HookFailureLabels, Counter>,
    pub hook_seconds: Family<HookLabels, Histogram, fn() -> Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("poolgate");
        let sign_ins = Family::<SignInLabels, Counter>::default();
        let grants = Family::<GrantLabels, Counter>::default();
        let store_up = Gauge::default();
        let cert_expiry_seconds = Family::<DomainLabels, Gauge>::default();
        let saml_cert_expiry_seconds = Family::<DomainLabels, Gauge>::default();
        registry.register(
            "sign_ins",
            "Federated sign-ins by provider type and result",
            sign_ins.clone(),
        );
        registry.register(
            "token_grants",
            "Token endpoint grants by type and result",
            grants.clone(),
        );
        registry.register(
            "store_up",
            "1 when the store answered the last health check",
            store_up.clone(),
        );
        registry.register(
            "tls_certificate_expiry_seconds",
            "Seconds until a custom domain's certificate expires",
            cert_expiry_seconds.clone(),
        );
        registry.register(
            "saml_idp_certificate_expiry_seconds",
            "Seconds until a SAML IdP signing certificate expires",
            saml_cert_expiry_seconds.clone(),
        );
        let hook_calls = Family::<HookLabels, Counter>::default();
        let hook_failures = Family::<HookFailureLabels, Counter>::default();
        let hook_seconds: Family<HookLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(hook_histogram);
        registry.register(
            "hook_calls",
            "Hook (Lambda trigger) calls by trigger",
            hook_calls.clone(),
        );
        registry.register(
            "hook_failures",
            "Hook calls that failed, by trigger and reason",
            hook_failures.clone(),
        );
        registry.register(
            "hook_duration_seconds",
            "Hook call latency by trigger",
            hook_seconds.clone(),
        );
        Self {
            registry: Mutex::new(registry),
            hook_calls,
            hook_failures,
            hook_seconds,
            sign_ins,
            grants,
            store_up,
            cert_expiry_seconds,
            saml_cert_expiry_seconds,
        }
    }

    pub fn sign_in(&self, provider_type: &str, result: &str) {
        self.sign_ins
            .get_or_create(&SignInLabels {
                provider_type: provider_type.into(),
                result: result.into(),
            })
            .inc();
    }

    pub fn grant(&self, grant_type: &str, result: &str) {
        self.grants
            .get_or_create(&GrantLabels {
                grant_type: grant_type.into(),
                result: result.into(),
            })
            .inc();
    }

    /// One finished hook call: its latency, and its failure reason if it failed.
    pub fn hook_call(&self, trigger: &str, seconds: f64, failure: Option<&str>) {
        let labels = HookLabels {
            trigger: trigger.into(),
        };
        self.hook_calls.get_or_create(&labels).inc();
        self.hook_seconds.get_or_create(&labels).observe(seconds);
        if let Some(reason) = failure {
            self.hook_failures
                .get_or_create(&HookFailureLabels {
                    trigger: trigger.into(),
                    reason: reason.into(),
                })
                .inc();
        }
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Ok(reg) = self.registry.lock() {
            let _ = prometheus_client::encoding::text::encode(&mut out, &reg);
        }
        out
    }
}
