//! What a provider kind is: one value implementing [`ProviderKind`], declared in the
//! kind's own file and listed once in `registry.rs`. It carries every fact the other
//! layers used to spell out per type: the type name (Cognito's `ProviderType`), the
//! hosted page's button label, the console's form, the details Cognito describes beside its settings,
//! its secrets and default mapping, and how a registration is validated and built.
//! Optional abilities of a kind (details completed over the network, such as SAML's
//! metadata) are separate small traits the kind hands out, so no caller asks which
//! kind it holds.

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::{ProviderContext, ProviderError, SharedProvider};
use crate::model::ProviderRecord;

/// A provider kind: static facts, validation and the adapter's constructor.
pub trait ProviderKind: Send + Sync + 'static {
    /// The type name, as Cognito's `ProviderType` (`Google`, `OIDC`, ...): stored in
    /// records, shown by both APIs, written in provider files.
    fn type_name(&self) -> &'static str;
    /// The hosted sign-in page's button: the kind's usual wording, or `None` for
    /// "Continue with {provider name}".
    fn button_label(&self) -> Option<&'static str> {
        None
    }
    /// Detail keys whose values are secret: masked on read, never logged.
    fn secret_fields(&self) -> &'static [&'static str];
    /// The pool-attribute -> upstream-attribute mapping used when none is given.
    fn default_mapping(&self) -> &'static [(&'static str, &'static str)];
    /// Public material derived from the details that an admin registers at the IdP
    /// (the `private_key_jwt` public keys), shown by the provider view.
    fn public_details(&self, _details: &Map<String, Value>) -> Option<Value> {
        None
    }
    /// The console's form for this kind.
    fn console(&self) -> &'static ConsoleForm;
    /// Details Cognito describes for this kind that are not its settings (Cognito's
    /// own endpoints of a social provider): the Cognito API drops them on the way in,
    /// so a described provider can be created unchanged.
    fn cognito_described_only(&self) -> &'static [&'static str] {
        &[]
    }
    /// Checks a registration's details (parsed into the kind's typed config): every
    /// problem, each naming its key. No network call.
    fn validate(&self, record: &ProviderRecord) -> Result<(), Vec<String>>;
    /// The live adapter of a registration (validates it too; no network call).
    fn build(
        &self,
        record: &ProviderRecord,
        ctx: &ProviderContext,
    ) -> Result<SharedProvider, ProviderError>;
    /// Details this kind completes over the network (SAML's `metadata_url`).
    fn fetched_details(&self) -> Option<&dyn FetchedDetails> {
        None
    }
}

/// Details a registration names by URL and keeps fetched in the record: fetched when
/// the registration is stored, and again by the background refresh.
#[async_trait]
pub trait FetchedDetails: Send + Sync {
    /// Fetches into `record`; `true` when the stored document changed. Nothing to
    /// fetch (the registration carries its document itself) is `Ok(false)`.
    async fn fetch(
        &self,
        record: &mut ProviderRecord,
        ctx: &ProviderContext,
    ) -> Result<bool, ProviderError>;
    /// The admin's message when the fetch failed (the cause may name internal hosts:
    /// it goes to the log only).
    fn failed_message(&self) -> &'static str;
}

/// The endpoints Cognito describes for its social providers (poolgate knows them):
/// dropped from a Cognito `ProviderDetails` of a social kind on the way in.
pub const COGNITO_SOCIAL_ENDPOINTS: &[&str] = &[
    "authorize_url",
    "token_url",
    "attributes_url",
    "oidc_issuer",
    "jwks_uri",
];

/// The console's form of a kind: where the admin registers poolgate at the IdP, what
/// to give the IdP and the details to take from it.
#[derive(Debug)]
pub struct ConsoleForm {
    pub title: &'static str,
    /// Where the admin registers poolgate at the IdP.
    pub register_at: &'static str,
    pub fields: &'static [FormField],
    /// What to give the IdP: pool-wide values first, then each domain's.
    pub give: &'static [Give],
}

/// One input of a provider form: a key of `details`.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct FormField {
    pub key: &'static str,
    pub label: &'static str,
    pub help: &'static str,
    /// `text`, `secret` (masked once stored) or `area` (multi-line, PEM or XML).
    pub input: &'static str,
    pub required: bool,
}

impl FormField {
    pub const fn new(
        key: &'static str,
        label: &'static str,
        help: &'static str,
        input: &'static str,
        required: bool,
    ) -> Self {
        Self {
            key,
            label,
            help,
            input,
            required,
        }
    }
}

/// The form fields most kinds share.
pub const CLIENT_ID: FormField = FormField::new("client_id", "Client ID", "", "text", true);
pub const CLIENT_SECRET: FormField =
    FormField::new("client_secret", "Client secret", "", "secret", true);
pub const SCOPES: FormField = FormField::new(
    "authorize_scopes",
    "Scopes",
    "Space separated; leave empty for the provider's usual ones.",
    "text",
    false,
);

/// A value the admin gives the IdP.
#[derive(Clone, Copy, Debug)]
pub enum Give {
    /// The pool's SAML SP entity ID (once, not per domain).
    SpEntityId(&'static str),
    /// A domain's host name.
    Host(&'static str),
    /// A URL on each domain: (label, path).
    Endpoint(&'static str, &'static str),
}

/// What most kinds give: the OAuth callback.
pub const GIVE_REDIRECT_URI: &[Give] = &[Give::Endpoint("Redirect URI", "/oauth2/idpresponse")];
