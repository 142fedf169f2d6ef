//! An admin's whole session through boto3 and the AWS CLI, as in the README: a pool, a
//! domain, an OIDC provider pointed at the fake upstream, an app client, a sign-in,
//! then users, groups in the next token, disable/enable, linking, and clean-up; what
//! the Cognito API makes is what `/admin/v1` shows and what sign-ins use.

use reqwest::StatusCode;
use serde_json::{Value, json};
use url::Url;

use super::{aws_cli, boto3, fails, ok};
use crate::fakes::oidc::{self, FakeHandle, OidcOpts};
use crate::harness::{Browser, Gw, Landing, claims, pkce};

const CB: &str = "http://127.0.0.1:9/cb";

/// Signs in at `base` (the pool's domain) through provider `Corp`; the token answer,
/// or where the browser stopped.
async fn sign_in(gw: &Gw, base: &str, client: &str) -> Result<Value, Landing> {
    let (verifier, challenge) = pkce();
    let mut u = Url::parse(&format!("{base}/oauth2/authorize")).unwrap();
    u.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client)
        .append_pair("redirect_uri", CB)
        .append_pair("scope", "openid email profile")
        .append_pair("state", "s1")
        .append_pair("identity_provider", "Corp")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let landing = Browser::new().follow(u.as_str(), CB).await;
    let code = match &landing {
        Landing::App(q) if q.contains_key("code") => q["code"].clone(),
        _ => return Err(landing),
    };
    let resp = gw
        .http
        .post(format!("{base}/oauth2/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", client),
            ("code", &code),
            ("redirect_uri", CB),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    Ok(resp.json().await.unwrap())
}

fn oidc_details(fake: &FakeHandle) -> Value {
    let o = fake.opts();
    json!({
        "client_id": o.client_id,
        "client_secret": o.client_secret,
        "oidc_issuer": fake.issuer(),
        "authorize_scopes": "openid email profile",
        "attributes_request_method": "GET",
    })
}

fn groups_claim(id: &Value) -> Value {
    id.get("cognito:groups")
        .or_else(|| id.get("groups"))
        .cloned()
        .unwrap_or(json!([]))
}

#[tokio::test]
async fn an_admin_session_through_boto3_and_the_aws_cli() {
    let gw = Gw::start().await;
    let fake = oidc::start(OidcOpts::default()).await;
    let domain = format!("localhost:{}", gw.port);
    let base = format!("http://{domain}");

    let made = ok(&gw, "CreateUserPool", json!({"PoolName": "acme"})).await;
    let pool = made["UserPool"]["Id"].as_str().unwrap().to_owned();
    let (region, suffix) = pool.split_once('_').unwrap();
    assert_eq!(region, super::REGION);
    assert!(
        suffix.len() == 9 && suffix.bytes().all(|b| b.is_ascii_alphanumeric()),
        "{pool}"
    );
    assert_eq!(made["UserPool"]["Name"], "acme");

    let r = boto3(
        &gw,
        &[
            ("CreateUserPoolDomain", json!({"UserPoolId": pool, "Domain": domain})),
            (
                "CreateIdentityProvider",
                json!({"UserPoolId": pool, "ProviderName": "Corp", "ProviderType": "OIDC",
                       "ProviderDetails": oidc_details(&fake),
                       "AttributeMapping": {"email": "email", "name": "name"}}),
            ),
            (
                "CreateIdentityProvider",
                json!({"UserPoolId": pool, "ProviderName": "Corp", "ProviderType": "OIDC",
                       "ProviderDetails": oidc_details(&fake)}),
            ),
            (
                "CreateUserPoolClient",
                json!({"UserPoolId": pool, "ClientName": "web", "CallbackURLs": [CB],
                       "AllowedOAuthFlows": ["code"], "AllowedOAuthFlowsUserPoolClient": true,
                       "AllowedOAuthScopes": ["openid", "email", "profile"],
                       "SupportedIdentityProviders": ["Corp"]}),
            ),
            ("DescribeIdentityProvider", json!({"UserPoolId": pool, "ProviderName": "Corp"})),
            ("DescribeUserPoolDomain", json!({"Domain": domain})),
            ("CreateGroup", json!({"UserPoolId": pool, "GroupName": "admins", "Precedence": 1, "Description": "Admins"})),
            ("CreateGroup", json!({"UserPoolId": pool, "GroupName": "admins"})),
            ("DescribeUserPool", json!({"UserPoolId": pool})),
        ],
    )
    .await;
    for (i, a) in r.iter().enumerate() {
        if ![2, 7].contains(&i) {
            assert!(a.get("ok").is_some(), "call {i}: {a}");
        }
    }
    assert_eq!(
        r[2]["error"]["Code"], "DuplicateProviderException",
        "{}",
        r[2]
    );
    assert_eq!(r[7]["error"]["Code"], "GroupExistsException", "{}", r[7]);
    let client = r[3]["ok"]["UserPoolClient"]["ClientId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(r[3]["ok"]["UserPoolClient"].get("ClientSecret").is_none());
    let described = &r[4]["ok"]["IdentityProvider"];
    assert_eq!(described["ProviderDetails"]["oidc_issuer"], fake.issuer());
    assert_eq!(described["ProviderType"], "OIDC");
    assert_eq!(r[5]["ok"]["DomainDescription"]["UserPoolId"], pool);
    assert_eq!(r[8]["ok"]["UserPool"]["Domain"], domain);

    // One set of resources: /admin/v1 sees what the Cognito API made.
    let (s, p) = gw
        .admin("GET", &format!("/pools/{pool}/providers/Corp"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["details"]["issuer"], fake.issuer());
    assert_eq!(p["link_by_email"], "never");
    let (s, c) = gw
        .admin("GET", &format!("/pools/{pool}/clients/{client}"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!(c["supported_identity_providers"], json!(["Corp"]));

    // A sign-in on the pool's domain, through the provider made here.
    let t = sign_in(&gw, &base, &client)
        .await
        .unwrap_or_else(|l| panic!("{l:?}"));
    let id = claims(t["id_token"].as_str().unwrap());
    // A pool made by CreateUserPool issues as Cognito does: under the public URL and
    // the pool id, whatever domain the sign-in came in on (interface.md section 3).
    assert_eq!(id["iss"], format!("http://127.0.0.1:{}/{pool}", gw.port));
    assert_ne!(id["iss"], base);
    assert_eq!(groups_claim(&id), json!([]));

    let r = boto3(
        &gw,
        &[(
            "ListUsers",
            json!({"UserPoolId": pool, "Filter": "username ^= \"Corp_\""}),
        )],
    )
    .await;
    let users = r[0]["ok"]["Users"]
        .as_array()
        .unwrap_or_else(|| panic!("{r:?}"));
    assert_eq!(users.len(), 1, "{users:?}");
    let username = users[0]["Username"].as_str().unwrap().to_owned();
    assert_eq!(users[0]["UserStatus"], "EXTERNAL_PROVIDER");
    let attrs = &users[0]["Attributes"];
    assert!(
        attrs
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["Name"] == "email" && a["Value"] == "ada@example.com"),
        "{attrs}"
    );
    let none = ok(
        &gw,
        "ListUsers",
        json!({"UserPoolId": pool, "Filter": "email = \"nobody@example.com\""}),
    )
    .await;
    assert_eq!(none["Users"], json!([]));

    // Groups show in the next token.
    let r = boto3(
        &gw,
        &[
            (
                "AdminAddUserToGroup",
                json!({"UserPoolId": pool, "Username": username, "GroupName": "admins"}),
            ),
            (
                "AdminListGroupsForUser",
                json!({"UserPoolId": pool, "Username": username}),
            ),
            (
                "ListUsersInGroup",
                json!({"UserPoolId": pool, "GroupName": "admins"}),
            ),
            (
                "GetGroup",
                json!({"UserPoolId": pool, "GroupName": "admins"}),
            ),
        ],
    )
    .await;
    assert_eq!(r[1]["ok"]["Groups"][0]["GroupName"], "admins", "{r:?}");
    assert_eq!(r[1]["ok"]["Groups"][0]["Precedence"], 1);
    assert_eq!(r[2]["ok"]["Users"][0]["Username"], username.as_str());
    assert_eq!(r[3]["ok"]["Group"]["Description"], "Admins");
    let t = sign_in(&gw, &base, &client)
        .await
        .unwrap_or_else(|l| panic!("{l:?}"));
    assert_eq!(
        groups_claim(&claims(t["id_token"].as_str().unwrap())),
        json!(["admins"])
    );
    assert_eq!(
        groups_claim(&claims(t["access_token"].as_str().unwrap())),
        json!(["admins"])
    );

    // Disabled: no sign-in; enabled again: signs in.
    ok(
        &gw,
        "AdminDisableUser",
        json!({"UserPoolId": pool, "Username": username}),
    )
    .await;
    let got = ok(
        &gw,
        "AdminGetUser",
        json!({"UserPoolId": pool, "Username": username}),
    )
    .await;
    assert_eq!(got["Enabled"], false);
    assert!(
        sign_in(&gw, &base, &client).await.is_err(),
        "a disabled user signed in"
    );
    ok(
        &gw,
        "AdminEnableUser",
        json!({"UserPoolId": pool, "Username": username}),
    )
    .await;
    sign_in(&gw, &base, &client)
        .await
        .unwrap_or_else(|l| panic!("{l:?}"));

    // Linking: a second identity of the provider onto this user, then off again.
    let link = json!({"UserPoolId": pool,
        "DestinationUser": {"ProviderName": "Cognito", "ProviderAttributeValue": username},
        "SourceUser": {"ProviderName": "Corp", "ProviderAttributeName": "Cognito_Subject", "ProviderAttributeValue": "second-sub"}});
    ok(&gw, "AdminLinkProviderForUser", link.clone()).await;
    let got = ok(
        &gw,
        "AdminGetUser",
        json!({"UserPoolId": pool, "Username": username}),
    )
    .await;
    let ids = got["UserAttributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["Name"] == "identities")
        .unwrap()["Value"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(ids.contains("second-sub"), "{ids}");
    // By another attribute: a pending link (tests/it/cognito_api/pending_links.rs),
    // removed by the same source.
    let mut by_attr = link.clone();
    by_attr["SourceUser"]["ProviderAttributeName"] = json!("email");
    ok(&gw, "AdminLinkProviderForUser", by_attr.clone()).await;
    let by_attr_user = json!({"UserPoolId": pool, "User": by_attr["SourceUser"]});
    ok(&gw, "AdminDisableProviderForUser", by_attr_user.clone()).await;
    assert_eq!(
        fails(&gw, "AdminDisableProviderForUser", by_attr_user).await,
        "UserNotFoundException"
    );
    ok(&gw, "AdminDisableProviderForUser", json!({"UserPoolId": pool,
        "User": {"ProviderName": "Corp", "ProviderAttributeName": "Cognito_Subject", "ProviderAttributeValue": "second-sub"}})).await;
    let (_, u) = gw
        .admin("GET", &format!("/pools/{pool}/users/{username}"), None)
        .await;
    assert_eq!(u["identities"].as_array().unwrap().len(), 1, "{u}");

    // The AWS CLI reads the same.
    let (okc, v, err) = aws_cli(&gw, &["list-users", "--user-pool-id", &pool]).await;
    assert!(okc, "{err}");
    assert_eq!(v["Users"][0]["Username"], username.as_str());
    let (okc, v, err) = aws_cli(
        &gw,
        &[
            "describe-user-pool-client",
            "--user-pool-id",
            &pool,
            "--client-id",
            &client,
        ],
    )
    .await;
    assert!(okc, "{err}");
    assert_eq!(v["UserPoolClient"]["ClientName"], "web");
    assert_eq!(v["UserPoolClient"]["AllowedOAuthFlows"], json!(["code"]));

    // Removing from the group; deleting the pool removes everything in it.
    ok(
        &gw,
        "AdminRemoveUserFromGroup",
        json!({"UserPoolId": pool, "Username": username, "GroupName": "admins"}),
    )
    .await;
    let t = sign_in(&gw, &base, &client)
        .await
        .unwrap_or_else(|l| panic!("{l:?}"));
    assert_eq!(
        groups_claim(&claims(t["id_token"].as_str().unwrap())),
        json!([])
    );
    // Global sign-out ends the refresh tokens issued so far.
    let rt = t["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |rt: String| {
        let req = gw.http.post(format!("{base}/oauth2/token")).form(&[
            ("grant_type", "refresh_token".to_owned()),
            ("client_id", client.clone()),
            ("refresh_token", rt),
        ]);
        async move { req.send().await.unwrap().status() }
    };
    assert_eq!(refresh(rt.clone()).await, StatusCode::OK);
    ok(
        &gw,
        "AdminUserGlobalSignOut",
        json!({"UserPoolId": pool, "Username": username}),
    )
    .await;
    assert_eq!(refresh(rt).await, StatusCode::BAD_REQUEST);
    // Only the attributes asked for.
    let only = ok(
        &gw,
        "ListUsers",
        json!({"UserPoolId": pool, "AttributesToGet": ["email"]}),
    )
    .await;
    assert_eq!(
        only["Users"][0]["Attributes"],
        json!([{"Name": "email", "Value": "ada@example.com"}])
    );
    ok(
        &gw,
        "AdminDeleteUser",
        json!({"UserPoolId": pool, "Username": username}),
    )
    .await;
    assert_eq!(
        fails(
            &gw,
            "AdminGetUser",
            json!({"UserPoolId": pool, "Username": username})
        )
        .await,
        "UserNotFoundException"
    );
    ok(&gw, "DeleteUserPool", json!({"UserPoolId": pool})).await;
    let pools = ok(&gw, "ListUserPools", json!({"MaxResults": 60})).await;
    assert!(
        !pools["UserPools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["Id"] == pool.as_str())
    );
    assert_eq!(
        fails(&gw, "DescribeUserPool", json!({"UserPoolId": pool})).await,
        "ResourceNotFoundException"
    );
}

#[tokio::test]
async fn refused_calls_answer_cognito_codes_and_create_nothing() {
    let gw = Gw::start().await;
    let before = ok(&gw, "ListUserPools", json!({"MaxResults": 60})).await;
    let cases = [
        (
            "DescribeUserPool",
            json!({"UserPoolId": "eu-west-1_Nope12345"}),
            "ResourceNotFoundException",
        ),
        (
            "AdminGetUser",
            json!({"UserPoolId": "default", "Username": "nobody"}),
            "UserNotFoundException",
        ),
        (
            "CreateIdentityProvider",
            json!({"UserPoolId": "eu-west-1_Nope12345", "ProviderName": "X", "ProviderType": "OIDC", "ProviderDetails": {}}),
            "ResourceNotFoundException",
        ),
        (
            "CreateIdentityProvider",
            json!({"UserPoolId": "default", "ProviderName": "X", "ProviderType": "OIDC", "ProviderDetails": {"client_id": "a"}}),
            "InvalidParameterException",
        ),
        (
            "CreateUserPoolClient",
            json!({"UserPoolId": "default", "ClientName": "x", "SupportedIdentityProviders": ["Missing"]}),
            "InvalidParameterException",
        ),
        (
            "CreateUserPoolClient",
            json!({"UserPoolId": "default", "ClientName": "x", "AllowedOAuthFlows": ["code"]}),
            "InvalidParameterException",
        ),
        (
            "AdminAddUserToGroup",
            json!({"UserPoolId": "default", "Username": "nobody", "GroupName": "g"}),
            "UserNotFoundException",
        ),
        (
            "GetGroup",
            json!({"UserPoolId": "default", "GroupName": "nope"}),
            "ResourceNotFoundException",
        ),
        (
            "CreateGroup",
            json!({"UserPoolId": "default", "GroupName": "g", "RoleArn": "not-an-arn-but-long-enough"}),
            "InvalidParameterException",
        ),
        (
            "DeleteUserPool",
            json!({"UserPoolId": "default"}),
            "InvalidParameterException",
        ),
        (
            "ListUsers",
            json!({"UserPoolId": "default", "Filter": "custom:x = \"1\""}),
            "InvalidParameterException",
        ),
        (
            "ListUsers",
            json!({"UserPoolId": "default", "PaginationToken": "garbage"}),
            "InvalidParameterException",
        ),
        (
            "DescribeIdentityProvider",
            json!({"UserPoolId": "default", "ProviderName": "Nope"}),
            "ResourceNotFoundException",
        ),
    ];
    for (op, params, want) in cases {
        assert_eq!(fails(&gw, op, params.clone()).await, want, "{op} {params}");
    }
    // Nothing was made by any of them.
    let after = ok(&gw, "ListUserPools", json!({"MaxResults": 60})).await;
    assert_eq!(before, after);
    let (_, providers) = gw.admin("GET", "/pools/default/providers", None).await;
    assert_eq!(providers["items"], json!([]));
    let (_, clients) = gw.admin("GET", "/pools/default/clients", None).await;
    assert_eq!(clients["items"], json!([]));
    let groups = ok(&gw, "ListGroups", json!({"UserPoolId": "default"})).await;
    assert_eq!(groups["Groups"], json!([]));
}

#[tokio::test]
async fn lambda_config_names_hook_urls_and_a_bad_one_creates_nothing() {
    let gw = Gw::start().await;
    let hook = "http://127.0.0.1:9/pre-token";
    let made = ok(
        &gw,
        "CreateUserPool",
        json!({"PoolName": "hooked", "LambdaConfig": {
            "PreTokenGenerationConfig": {"LambdaVersion": "V2_0", "LambdaArn": hook}}}),
    )
    .await;
    let pool = made["UserPool"]["Id"].as_str().unwrap().to_owned();
    let described = ok(&gw, "DescribeUserPool", json!({"UserPoolId": pool})).await;
    let lc = &described["UserPool"]["LambdaConfig"];
    assert_eq!(lc["PreTokenGenerationConfig"]["LambdaArn"], hook, "{lc}");
    assert_eq!(lc["PreTokenGenerationConfig"]["LambdaVersion"], "V2_0");

    // Plain http is for loopback only: refused, and no pool is made.
    let before = ok(&gw, "ListUserPools", json!({"MaxResults": 60})).await;
    assert_eq!(
        fails(
            &gw,
            "CreateUserPool",
            json!({"PoolName": "bad", "LambdaConfig": {"PreSignUp": "http://hooks.example.com/x"}}),
        )
        .await,
        "InvalidParameterException"
    );
    let after = ok(&gw, "ListUserPools", json!({"MaxResults": 60})).await;
    assert_eq!(before["UserPools"], after["UserPools"]);
}
