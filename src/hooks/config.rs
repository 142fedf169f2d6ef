//! A pool's `LambdaConfig` as hook URLs: validation when it is set (through
//! `/admin/v1` or the Cognito API), and which URL serves which trigger.

use crate::model::{LambdaConfig, LambdaVersion, VersionedHook};
use crate::provider::protocol::config::parse_endpoint;

/// The triggers poolgate calls, one per `LambdaConfig` key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Trigger {
    PreSignUp,
    PreAuthentication,
    PostAuthentication,
    PostConfirmation,
    PreTokenGeneration,
    UserMigration,
    CustomMessage,
    CustomEmailSender,
    CustomSmsSender,
}

impl Trigger {
    /// The `LambdaConfig` key, also the name in Cognito's error messages
    /// ("PreSignUp failed with error ...").
    pub fn key(self) -> &'static str {
        match self {
            Trigger::PreSignUp => "PreSignUp",
            Trigger::PreAuthentication => "PreAuthentication",
            Trigger::PostAuthentication => "PostAuthentication",
            Trigger::PostConfirmation => "PostConfirmation",
            Trigger::PreTokenGeneration => "PreTokenGeneration",
            Trigger::UserMigration => "UserMigration",
            Trigger::CustomMessage => "CustomMessage",
            Trigger::CustomEmailSender => "CustomEmailSender",
            Trigger::CustomSmsSender => "CustomSMSSender",
        }
    }

    /// The metrics label.
    pub fn label(self) -> &'static str {
        match self {
            Trigger::PreSignUp => "pre_sign_up",
            Trigger::PreAuthentication => "pre_authentication",
            Trigger::PostAuthentication => "post_authentication",
            Trigger::PostConfirmation => "post_confirmation",
            Trigger::PreTokenGeneration => "pre_token_generation",
            Trigger::UserMigration => "user_migration",
            Trigger::CustomMessage => "custom_message",
            Trigger::CustomEmailSender => "custom_email_sender",
            Trigger::CustomSmsSender => "custom_sms_sender",
        }
    }
}

/// The URL and event version of a trigger, when the pool has a hook for it.
pub fn endpoint(cfg: &LambdaConfig, t: Trigger) -> Option<(&str, LambdaVersion)> {
    fn plain(u: &Option<String>) -> Option<(&str, LambdaVersion)> {
        u.as_deref().map(|u| (u, LambdaVersion::V1_0))
    }
    fn versioned(h: &Option<VersionedHook>) -> Option<(&str, LambdaVersion)> {
        h.as_ref()
            .map(|h| (h.lambda_arn.as_str(), h.lambda_version))
    }
    match t {
        Trigger::PreSignUp => plain(&cfg.pre_sign_up),
        Trigger::PreAuthentication => plain(&cfg.pre_authentication),
        Trigger::PostAuthentication => plain(&cfg.post_authentication),
        Trigger::PostConfirmation => plain(&cfg.post_confirmation),
        Trigger::PreTokenGeneration => {
            versioned(&cfg.pre_token_generation_config).or_else(|| plain(&cfg.pre_token_generation))
        }
        Trigger::UserMigration => plain(&cfg.user_migration),
        Trigger::CustomMessage => plain(&cfg.custom_message),
        Trigger::CustomEmailSender => versioned(&cfg.custom_email_sender),
        Trigger::CustomSmsSender => versioned(&cfg.custom_sms_sender),
    }
}

/// Checks a `LambdaConfig` and writes it in its one stored form: every URL `https`
/// (`http` only on loopback), the legacy `PreTokenGeneration` and a `V1_0`
/// `PreTokenGenerationConfig` kept equal (as Cognito shows both), senders `V1_0`.
/// Every problem is reported, each naming its key.
pub fn validate(cfg: &mut LambdaConfig) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    for (key, value) in [
        ("DefineAuthChallenge", &cfg.define_auth_challenge),
        ("CreateAuthChallenge", &cfg.create_auth_challenge),
        (
            "VerifyAuthChallengeResponse",
            &cfg.verify_auth_challenge_response,
        ),
    ] {
        if value.is_some() {
            errors.push(format!(
                "{key}: custom authentication challenges are not supported"
            ));
        }
    }
    match (&cfg.pre_token_generation, &cfg.pre_token_generation_config) {
        (Some(legacy), None) => {
            cfg.pre_token_generation_config = Some(VersionedHook {
                lambda_version: LambdaVersion::V1_0,
                lambda_arn: legacy.clone(),
            });
        }
        (legacy, Some(c)) if c.lambda_version == LambdaVersion::V1_0 => {
            if legacy.as_ref().is_some_and(|l| *l != c.lambda_arn) {
                errors.push(
                    "PreTokenGeneration: differs from PreTokenGenerationConfig.LambdaArn".into(),
                );
            }
            cfg.pre_token_generation = Some(c.lambda_arn.clone());
        }
        (Some(_), Some(_)) => errors.push(
            "PreTokenGeneration: the legacy key is V1_0; with a V2_0 or V3_0 \
             PreTokenGenerationConfig leave it out"
                .into(),
        ),
        (None, _) => {}
    }
    for (key, h) in [
        ("CustomEmailSender", &cfg.custom_email_sender),
        ("CustomSMSSender", &cfg.custom_sms_sender),
    ] {
        if h.as_ref()
            .is_some_and(|h| h.lambda_version != LambdaVersion::V1_0)
        {
            errors.push(format!("{key}.LambdaVersion: must be V1_0"));
        }
    }
    let urls = [
        ("PreSignUp", cfg.pre_sign_up.as_ref()),
        ("PreAuthentication", cfg.pre_authentication.as_ref()),
        ("PostAuthentication", cfg.post_authentication.as_ref()),
        ("PostConfirmation", cfg.post_confirmation.as_ref()),
        ("UserMigration", cfg.user_migration.as_ref()),
        ("CustomMessage", cfg.custom_message.as_ref()),
        (
            "PreTokenGenerationConfig.LambdaArn",
            cfg.pre_token_generation_config
                .as_ref()
                .map(|h| &h.lambda_arn),
        ),
        (
            "CustomEmailSender.LambdaArn",
            cfg.custom_email_sender.as_ref().map(|h| &h.lambda_arn),
        ),
        (
            "CustomSMSSender.LambdaArn",
            cfg.custom_sms_sender.as_ref().map(|h| &h.lambda_arn),
        ),
    ];
    for (key, url) in urls {
        if let Some(url) = url {
            if url.len() > 2048 {
                errors.push(format!("{key}: longer than 2048 characters"));
            } else if let Err(e) = parse_endpoint(url) {
                errors.push(format!("{key}: {e}"));
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(v: serde_json::Value) -> LambdaConfig {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn urls_are_https_or_loopback_http() {
        let mut ok = cfg(serde_json::json!({
            "PreSignUp": "https://hooks.example.com/a",
            "PostAuthentication": "http://127.0.0.1:9000/b",
            "PreAuthentication": "http://localhost:9000/c",
        }));
        assert_eq!(validate(&mut ok), Ok(()));
        let mut bad = cfg(serde_json::json!({
            "PreSignUp": "http://hooks.example.com/a",
            "UserMigration": "ftp://x/",
            "CustomMessage": "not a url",
            "PreAuthentication": "https://user:pw@x.example/",
        }));
        let errors = validate(&mut bad).unwrap_err();
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors.iter().any(|e| e.starts_with("PreSignUp:")));
        assert!(errors.iter().any(|e| e.starts_with("UserMigration:")));
    }

    #[test]
    fn legacy_pre_token_generation_is_v1() {
        let mut c = cfg(serde_json::json!({"PreTokenGeneration": "https://h.example/t"}));
        validate(&mut c).unwrap();
        assert_eq!(
            endpoint(&c, Trigger::PreTokenGeneration),
            Some(("https://h.example/t", LambdaVersion::V1_0))
        );
        assert_eq!(
            c.pre_token_generation_config.unwrap().lambda_version,
            LambdaVersion::V1_0
        );
        let mut both = cfg(serde_json::json!({
            "PreTokenGeneration": "https://h.example/t",
            "PreTokenGenerationConfig": {"LambdaVersion": "V2_0", "LambdaArn": "https://h.example/t"},
        }));
        assert!(validate(&mut both).is_err());
    }

    #[test]
    fn senders_are_v1_and_challenges_refused() {
        let mut c = cfg(serde_json::json!({
            "CustomEmailSender": {"LambdaVersion": "V2_0", "LambdaArn": "https://h.example/e"},
            "DefineAuthChallenge": "https://h.example/d",
        }));
        let errors = validate(&mut c).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(
            serde_json::from_value::<LambdaConfig>(serde_json::json!({"Nope": "x"})).is_err(),
            "unknown keys are refused"
        );
    }
}
