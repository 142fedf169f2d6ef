//! Hooks on the token exchange of native id_tokens (RFC 8693): the same gate as a
//! browser sign-in, then pre-token generation as `TokenGeneration_Authentication`;
//! a refusal answers `access_denied` and stores nothing.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{HookServer, Reply};
use crate::e2e_social::{Social, body};
use crate::fakes::TokenKnobs;
use crate::fakes::google::{self, GoogleOpts};
use crate::harness::{claims, json_str};

const ANDROID: &str = "123-android.apps.googleusercontent.com";

async fn exchange(s: &Social, token: &str) -> (StatusCode, Value) {
    s.gw.token(
        &[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:token-exchange",
            ),
            ("client_id", s.client.as_str()),
            ("subject_token", token),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:id_token",
            ),
            ("identity_provider", "Google"),
        ],
        None,
    )
    .await
}

async fn set_hooks(s: &Social, hooks: Value) {
    let (st, v) =
        s.gw.admin(
            "PATCH",
            "/pools/default",
            Some(json!({"settings": {"hooks": hooks}})),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
}

#[tokio::test]
async fn a_native_sign_in_runs_the_hooks() {
    let f = google::start(GoogleOpts::default()).await;
    let mut d = google::details(&f);
    d["native_client_ids"] = json!([ANDROID]);
    let s = Social::new(&[("Google", body("Google", d, "never"))]).await;
    let server = HookServer::start(|mut e: Value| async move {
        if e["triggerSource"] == "PreSignUp_ExternalProvider" {
            return Reply::Raw(400, br#"{"errorMessage":"Not yet"}"#.to_vec());
        }
        e["response"]["claimsAndScopeOverrideDetails"] =
            json!({"accessTokenGeneration": {"claimsToAddOrOverride": {"device": "android"}}});
        Reply::Json(e)
    })
    .await;
    set_hooks(
        &s,
        json!({
            "PreSignUp": server.url("/pre-sign-up"),
            "PreTokenGenerationConfig": {"LambdaVersion": "V2_0", "LambdaArn": server.url("/t")},
        }),
    )
    .await;
    let token = f.mint(ANDROID, None, &TokenKnobs::default());

    // A new user refused by pre-sign-up: nothing created, nothing issued.
    let (st, e) = exchange(&s, &token).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{e}");
    assert_eq!(e["error"], "access_denied");
    assert_eq!(
        e["error_description"],
        "PreSignUp failed with error Not yet."
    );
    let (_, users) = s.gw.admin("GET", "/pools/default/users", None).await;
    assert_eq!(users["items"].as_array().unwrap().len(), 0, "{users}");

    // Without the pre-sign-up hook the user is made, and the token hook changes the
    // access token, called as Cognito's API sign-ins call it.
    set_hooks(
        &s,
        json!({"PreTokenGenerationConfig": {"LambdaVersion": "V2_0", "LambdaArn": server.url("/t")}}),
    )
    .await;
    let (st, t) = exchange(&s, &token).await;
    assert_eq!(st, StatusCode::OK, "{t}");
    assert_eq!(claims(&json_str(&t, "access_token"))["device"], "android");
    let last = server.calls().pop().unwrap();
    assert_eq!(
        last.event["triggerSource"],
        "TokenGeneration_Authentication"
    );
    assert_eq!(last.event["callerContext"]["clientId"], s.client.as_str());
}
