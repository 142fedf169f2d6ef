//! Each documented event parses into its type and serializes back to the same JSON:
//! what poolgate sends has Cognito's shape, and what a function answers is read whole.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::*;

fn round_trip<Req, Resp>(text: &str) -> Event<Req, Resp>
where
    Req: Serialize + DeserializeOwned,
    Resp: Serialize + DeserializeOwned,
{
    let original: Value = serde_json::from_str(text).unwrap();
    let typed: Event<Req, Resp> = serde_json::from_value(original.clone()).unwrap();
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(back, original, "the event serializes back unchanged");
    typed
}

#[test]
fn pre_sign_up() {
    let e: Event<PreSignUpRequest, PreSignUpResponse> =
        round_trip(include_str!("fixtures/pre_sign_up_external_provider.json"));
    assert_eq!(e.trigger_source, "PreSignUp_ExternalProvider");
    assert_eq!(e.response, PreSignUpResponse::initial());
    let e: Event<PreSignUpRequest, PreSignUpResponse> =
        round_trip(include_str!("fixtures/pre_sign_up_sign_up.json"));
    assert_eq!(e.response.auto_confirm_user, Some(true));
    assert_eq!(e.request.validation_data.unwrap()["promo"], "spring");
}

#[test]
fn authentication() {
    let e: Event<PreAuthenticationRequest, Empty> =
        round_trip(include_str!("fixtures/pre_authentication.json"));
    assert!(!e.request.user_not_found);
    let e: Event<PostAuthenticationRequest, Empty> =
        round_trip(include_str!("fixtures/post_authentication.json"));
    assert_eq!(e.request.user_attributes["email_verified"], "true");
    let e: Event<PostConfirmationRequest, Empty> =
        round_trip(include_str!("fixtures/post_confirmation.json"));
    assert_eq!(e.trigger_source, "PostConfirmation_ConfirmSignUp");
}

#[test]
fn pre_token_generation() {
    let e: Event<PreTokenRequest, PreTokenResponseV1> =
        round_trip(include_str!("fixtures/pre_token_generation_v1.json"));
    let d = e.response.claims_override_details.unwrap();
    assert_eq!(d.claims_to_suppress.unwrap(), ["email"]);
    assert!(e.request.scopes.is_none(), "V1 events carry no scopes");
    let e: Event<PreTokenRequest, PreTokenResponseV2> =
        round_trip(include_str!("fixtures/pre_token_generation_v2.json"));
    let d = e.response.claims_and_scope_override_details.unwrap();
    let at = d.access_token_generation.unwrap();
    assert_eq!(at.scopes_to_suppress.unwrap(), ["phone"]);
    assert_eq!(
        d.group_override_details
            .unwrap()
            .groups_to_override
            .unwrap()
            .len(),
        3
    );
    let e: Event<PreTokenRequest, PreTokenResponseV2> = round_trip(include_str!(
        "fixtures/pre_token_generation_v3_client_credentials.json"
    ));
    assert!(e.user_name.is_none(), "machine tokens have no user");
    assert!(e.response.claims_and_scope_override_details.is_none());
}

#[test]
fn user_migration() {
    let e: Event<UserMigrationRequest, UserMigrationResponse> =
        round_trip(include_str!("fixtures/user_migration.json"));
    assert_eq!(e.response.final_user_status.as_deref(), Some("CONFIRMED"));
    assert!(
        !format!("{:?}", e.request).contains("example-password"),
        "Debug hides the password"
    );
}

#[test]
fn messages_and_senders() {
    let e: Event<CustomMessageRequest, CustomMessageResponse> =
        round_trip(include_str!("fixtures/custom_message.json"));
    assert_eq!(e.request.code_parameter, "{####}");
    assert!(e.response.email_message.unwrap().contains("{####}"));
    let e: Event<CustomSenderRequest, Empty> =
        round_trip(include_str!("fixtures/custom_email_sender.json"));
    assert_eq!(e.request.kind, "customEmailSenderRequestV1");
    assert!(!format!("{:?}", e.request).contains("123456"));
    let e: Event<CustomSenderRequest, Empty> =
        round_trip(include_str!("fixtures/custom_sms_sender.json"));
    assert_eq!(e.request.kind, "customSMSSenderRequestV1");
}

#[test]
fn answers_ignore_the_echoed_event_and_accept_nulls() {
    let a: Answer<PreSignUpResponse> = serde_json::from_str(
        r#"{"version":"9","whatever":[1],"response":{"autoConfirmUser":null,"autoVerifyEmail":true}}"#,
    )
    .unwrap();
    let r = a.response.unwrap();
    assert_eq!(r.auto_verify_email, Some(true));
    assert_eq!(r.auto_confirm_user, None);
    let a: Answer<PreTokenResponseV2> = serde_json::from_str(r#"{}"#).unwrap();
    assert!(a.response.is_none());
    assert!(
        serde_json::from_str::<Answer<PreTokenResponseV2>>(
            r#"{"response":{"claimsAndScopeOverrideDetails":{"idTokenGeneration":{"claimsToSuppress":"email"}}}}"#
        )
        .is_err(),
        "a wrongly typed member is malformed"
    );
}
