//! The console's groups and linking pages over real HTTP: a group created through its
//! form (a refused one creates nothing), members added and removed from the group's
//! page and from the user's, the group deleted; an identity linked to a user by provider
//! and subject (a second user cannot take it) and unlinked. Read back from the store.

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::json;

use crate::console::{Console, seed_user};
use crate::fakes::oidc::{self, OidcOpts};
use crate::harness::Gw;

#[tokio::test]
async fn console_groups_and_linking() {
    let gw = Gw::start().await;
    let fake = oidc::start(OidcOpts::default()).await;
    gw.put_provider("Corp", json!({"type": "OIDC", "details": fake.details()}))
        .await;
    seed_user(&gw, "ada").await;
    seed_user(&gw, "bob").await;
    let store = gw.running.as_ref().unwrap().store.clone();
    let c = Console::sign_in(&gw).await;

    // A refused group (precedence not a number, a role that is no ARN): nothing made.
    for form in [
        [
            ("name", "admins"),
            ("precedence", "first"),
            ("role_arn", ""),
        ],
        [
            ("name", "admins"),
            ("precedence", "1"),
            ("role_arn", "admin-role"),
        ],
    ] {
        let r = c.post("/console/pools/default/groups", &form).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let body = r.text().await.unwrap();
        assert!(body.contains("Not saved"), "{body}");
        assert!(body.contains("value=\"admins\""), "the form keeps the name");
    }
    assert!(store.list_groups("default").await.unwrap().is_empty());

    let r = c
        .post(
            "/console/pools/default/groups",
            &[
                ("name", "admins"),
                ("precedence", "1"),
                ("description", "People who run things"),
                ("role_arn", "arn:aws:iam::123456789012:role/Admins"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()[LOCATION],
        "/console/pools/default/groups/admins?ok=group-created"
    );
    let g = store.list_groups("default").await.unwrap();
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].precedence, Some(1));
    assert_eq!(
        g[0].role_arn.as_deref(),
        Some("arn:aws:iam::123456789012:role/Admins")
    );
    let (s, list) = c.get("/console/pools/default/groups").await;
    assert_eq!(s, StatusCode::OK);
    assert!(list.contains("People who run things"), "{list}");

    // Members: added on the group's page, and on the user's.
    let r = c
        .post(
            "/console/pools/default/groups/admins/add",
            &[("username", "ada")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = c
        .post(
            "/console/pools/default/groups/admins/add",
            &[("username", "nobody")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.text().await.unwrap().contains("no user named"));
    let r = c
        .post(
            "/console/pools/default/users/bob/add-group",
            &[("group", "admins")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, page) = c.get("/console/pools/default/groups/admins").await;
    assert!(
        page.contains(">ada</a>") && page.contains(">bob</a>"),
        "{page}"
    );
    let (_, page) = c.get("/console/pools/default/users/ada").await;
    assert!(page.contains("/groups/admins\">admins</a>"), "{page}");
    let r = c
        .post(
            "/console/pools/default/groups/admins/remove",
            &[("username", "bob")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = c
        .post(
            "/console/pools/default/users/ada/remove-group",
            &[("group", "admins")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    for id in ["sub-ada", "sub-bob"] {
        assert!(
            store
                .groups_of_user("default", id)
                .await
                .unwrap()
                .is_empty()
        );
    }
    let r = c
        .post("/console/pools/default/groups/admins/delete", &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(store.list_groups("default").await.unwrap().is_empty());

    // Linking by provider and subject; the identity is then ada's alone.
    let (_, page) = c.get("/console/pools/default/users/ada").await;
    assert!(page.contains("<option>Corp</option>"), "{page}");
    let r = c
        .post(
            "/console/pools/default/users/ada/link",
            &[("provider", "Corp"), ("subject", "corp-42")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()[LOCATION],
        "/console/pools/default/users/ada?ok=identity-linked"
    );
    let links = store.list_identities("default", "sub-ada").await.unwrap();
    assert!(
        links
            .iter()
            .any(|l| l.provider_name == "Corp" && l.subject == "corp-42"),
        "{links:?}"
    );
    let r = c
        .post(
            "/console/pools/default/users/bob/link",
            &[("provider", "Corp"), ("subject", "corp-42")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let r = c
        .post(
            "/console/pools/default/users/bob/link",
            &[("provider", "Nope"), ("subject", "x")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        store
            .list_identities("default", "sub-bob")
            .await
            .unwrap()
            .len(),
        1
    );
    let r = c
        .post(
            "/console/pools/default/users/ada/unlink",
            &[("provider", "Corp"), ("subject", "corp-42")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let links = store.list_identities("default", "sub-ada").await.unwrap();
    assert!(
        !links.iter().any(|l| l.provider_name == "Corp"),
        "{links:?}"
    );
}
