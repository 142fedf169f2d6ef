//! The provider types as the console's forms offer them: for each, where the admin
//! registers poolgate at the IdP and the details the IdP gives back (keys of the admin
//! service's provider `details`).

use serde::Serialize;

use crate::model::ProviderType;

/// One input of a provider form: a key of `details`.
#[derive(Clone, Copy, Serialize)]
pub struct Field {
    pub key: &'static str,
    pub label: &'static str,
    pub help: &'static str,
    /// `text`, `secret` (masked once stored) or `area` (multi-line, PEM or XML).
    pub input: &'static str,
    pub required: bool,
}

const fn f(
    key: &'static str,
    label: &'static str,
    help: &'static str,
    input: &'static str,
    required: bool,
) -> Field {
    Field {
        key,
        label,
        help,
        input,
        required,
    }
}

const CLIENT_ID: Field = f("client_id", "Client ID", "", "text", true);
const CLIENT_SECRET: Field = f("client_secret", "Client secret", "", "secret", true);
const SCOPES: Field = f(
    "authorize_scopes",
    "Scopes",
    "Space separated; leave empty for the provider's usual ones.",
    "text",
    false,
);

/// A provider type as the console offers it.
pub struct Kind {
    pub t: ProviderType,
    pub slug: &'static str,
    pub title: &'static str,
    /// Where the admin registers poolgate at the IdP.
    pub console: &'static str,
    pub fields: &'static [Field],
}

pub const KINDS: &[Kind] = &[
    Kind {
        t: ProviderType::OIDC,
        slug: "OIDC",
        title: "OpenID Connect",
        console: "your identity provider's app registration (Okta, Entra ID, Keycloak, AD FS, ...)",
        fields: &[
            f(
                "issuer",
                "Issuer URL",
                "The provider's issuer; its /.well-known/openid-configuration is read from there.",
                "text",
                true,
            ),
            CLIENT_ID,
            CLIENT_SECRET,
            SCOPES,
        ],
    },
    Kind {
        t: ProviderType::SAML,
        slug: "SAML",
        title: "SAML 2.0",
        console: "your identity provider's relying party trust / SAML app",
        fields: &[
            f(
                "metadata_url",
                "IdP metadata URL",
                "Fetched and checked on save. Give this or the metadata document.",
                "text",
                false,
            ),
            f(
                "metadata_xml",
                "IdP metadata document",
                "The XML the IdP exports, pasted here.",
                "area",
                false,
            ),
        ],
    },
    Kind {
        t: ProviderType::Google,
        slug: "Google",
        title: "Google",
        console: "Google Cloud console, APIs & Services, Credentials, OAuth client ID (Web application)",
        fields: &[
            CLIENT_ID,
            CLIENT_SECRET,
            SCOPES,
            f(
                "hosted_domain",
                "Workspace domain",
                "Only accounts of this Google Workspace domain may sign in.",
                "text",
                false,
            ),
        ],
    },
    Kind {
        t: ProviderType::Facebook,
        slug: "Facebook",
        title: "Facebook",
        console: "Meta for Developers, your app, Facebook Login, Settings",
        fields: &[
            f("client_id", "App ID", "", "text", true),
            f("client_secret", "App secret", "", "secret", true),
            SCOPES,
            f(
                "api_version",
                "Graph API version",
                "For example v19.0.",
                "text",
                false,
            ),
        ],
    },
    Kind {
        t: ProviderType::SignInWithApple,
        slug: "SignInWithApple",
        title: "Sign in with Apple",
        console: "Apple Developer, Certificates, Identifiers & Profiles, your Services ID",
        fields: &[
            f(
                "client_id",
                "Services ID",
                "The identifier of the Services ID, such as com.example.signin.",
                "text",
                true,
            ),
            f(
                "team_id",
                "Team ID",
                "Ten characters, shown at the top right of the developer account.",
                "text",
                true,
            ),
            f(
                "key_id",
                "Key ID",
                "The ID of the Sign in with Apple key.",
                "text",
                true,
            ),
            f(
                "private_key",
                "Private key (.p8)",
                "The contents of the AuthKey_XXXXXXXXXX.p8 file.",
                "area",
                true,
            ),
            SCOPES,
        ],
    },
    Kind {
        t: ProviderType::GitHub,
        slug: "GitHub",
        title: "GitHub",
        console: "GitHub, Settings, Developer settings, OAuth Apps (Authorization callback URL)",
        fields: &[
            CLIENT_ID,
            CLIENT_SECRET,
            SCOPES,
            f(
                "enterprise_url",
                "GitHub Enterprise Server URL",
                "Only for GitHub Enterprise Server, such as https://github.example.com.",
                "text",
                false,
            ),
        ],
    },
    Kind {
        t: ProviderType::OAuth2,
        slug: "OAuth2",
        title: "Plain OAuth 2.0",
        console: "the provider's OAuth app registration",
        fields: &[
            f("authorize_url", "Authorization endpoint", "", "text", true),
            f("token_url", "Token endpoint", "", "text", true),
            f(
                "userinfo_url",
                "User info endpoint",
                "Read with the access token to learn who signed in.",
                "text",
                true,
            ),
            CLIENT_ID,
            CLIENT_SECRET,
            SCOPES,
            f(
                "subject_attribute",
                "Subject attribute",
                "The user info field that identifies the user for good (such as id).",
                "text",
                false,
            ),
        ],
    },
    Kind {
        t: ProviderType::LoginWithAmazon,
        slug: "LoginWithAmazon",
        title: "Login with Amazon",
        console: "Amazon Developer console, Login with Amazon, your security profile, Web Settings",
        fields: &[CLIENT_ID, CLIENT_SECRET, SCOPES],
    },
];

pub fn kind_of(slug: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.slug == slug)
}

pub fn kind_for(t: ProviderType) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.t == t)
}
