//! The Redis backend's users, links and indexes: pagination, linking rules, cascades.

use poolgate::model::{MAX_LINKS_PER_USER, UserFilter};
use poolgate::store::prelude::*;
use poolgate::store::{CreateUserOutcome, LinkOutcome, StoreError};

use crate::redis_fixtures::{link, refresh, store, user};

#[tokio::test]
async fn redis_list_users_pages_in_creation_order_with_filters() {
    let (_server, s) = store().await;
    // Ties in created_at are ordered by id.
    let specs = [
        ("u5", 30),
        ("u1", 10),
        ("u3", 20),
        ("u2", 20),
        ("u4", 20),
        ("u6", 40),
        ("u7", 50),
    ];
    for (id, at) in specs {
        let email = if at == 20 {
            "same@x.test"
        } else {
            "other@x.test"
        };
        let u = user("p", id, &format!("n-{id}"), Some(email), at);
        let provider = if id == "u4" || id == "u6" {
            "Facebook"
        } else {
            "Google"
        };
        let outcome = s
            .create_user_with_identity(&u, &link("p", id, provider, id))
            .await
            .unwrap();
        assert_eq!(outcome, CreateUserOutcome::Created);
    }
    let all = UserFilter::default();
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = s.list_users("p", &all, 3, cursor.as_deref()).await.unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(page.items.into_iter().map(|u| u.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, ["u1", "u2", "u3", "u4", "u5", "u6", "u7"]);

    let by_email = UserFilter {
        email_norm: Some("same@x.test".into()),
        provider: None,
    };
    let page = s.list_users("p", &by_email, 2, None).await.unwrap();
    let ids: Vec<_> = page.items.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, ["u2", "u3"]);
    let rest = s
        .list_users("p", &by_email, 2, page.next_cursor.as_deref())
        .await
        .unwrap();
    assert_eq!(
        rest.items.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        ["u4"]
    );
    assert_eq!(rest.next_cursor, None);

    let by_provider = UserFilter {
        email_norm: None,
        provider: Some("Facebook".into()),
    };
    let page = s.list_users("p", &by_provider, 10, None).await.unwrap();
    assert_eq!(
        page.items.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        ["u4", "u6"]
    );

    let both = UserFilter {
        email_norm: Some("same@x.test".into()),
        provider: Some("Facebook".into()),
    };
    let page = s.list_users("p", &both, 10, None).await.unwrap();
    assert_eq!(
        page.items.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        ["u4"]
    );

    // The limit is clamped to 1..=60.
    let one = s.list_users("p", &all, 0, None).await.unwrap();
    assert_eq!(one.items.len(), 1);
    assert!(one.next_cursor.is_some());
    assert_eq!(
        s.list_users("p", &all, 1000, None)
            .await
            .unwrap()
            .items
            .len(),
        7
    );
    assert!(matches!(
        s.list_users("p", &all, 3, Some("not a cursor!")).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        s.list_users("empty", &all, 3, None).await.unwrap().items,
        vec![]
    );

    // A changed created_at moves the user in every index's order.
    let mut u1 = s.get_user("p", "u1").await.unwrap().unwrap();
    u1.created_at = 45;
    assert!(s.update_user(&u1).await.unwrap());
    let ids = |page: poolgate::model::Page<poolgate::model::User>| -> Vec<String> {
        page.items.into_iter().map(|u| u.id).collect()
    };
    let page = s.list_users("p", &all, 60, None).await.unwrap();
    assert_eq!(ids(page), ["u2", "u3", "u4", "u5", "u6", "u1", "u7"]);
    let google = UserFilter {
        email_norm: None,
        provider: Some("Google".into()),
    };
    let page = s.list_users("p", &google, 60, None).await.unwrap();
    assert_eq!(ids(page), ["u2", "u3", "u5", "u1", "u7"]);
    let other = UserFilter {
        email_norm: Some("other@x.test".into()),
        provider: None,
    };
    let page = s.list_users("p", &other, 60, None).await.unwrap();
    assert_eq!(ids(page), ["u5", "u6", "u1", "u7"]);
}

#[tokio::test]
async fn redis_more_than_sixty_users_page_fully() {
    let (_server, s) = store().await;
    for i in 0..130 {
        let id = format!("u{i:03}");
        let u = user("p", &id, &id, None, 1_700_000_000_000 + i / 7);
        s.create_user_with_identity(&u, &link("p", &id, "Google", &id))
            .await
            .unwrap();
    }
    let filter = UserFilter {
        email_norm: None,
        provider: Some("Google".into()),
    };
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = s
            .list_users("p", &filter, 60, cursor.as_deref())
            .await
            .unwrap();
        seen.extend(page.items.into_iter().map(|u| u.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let expected: Vec<String> = (0..130).map(|i| format!("u{i:03}")).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn redis_linking_rules() {
    let (_server, s) = store().await;
    let ada = user("p", "ada", "ada", None, 1);
    let bob = user("p", "bob", "bob", None, 2);
    s.create_user_with_identity(&ada, &link("p", "ada", "Google", "1"))
        .await
        .unwrap();
    s.create_user_with_identity(&bob, &link("p", "bob", "Google", "2"))
        .await
        .unwrap();
    let dup = user("p", "ada2", "ada", None, 3);
    assert!(matches!(
        s.create_user_with_identity(&dup, &link("p", "ada2", "Google", "3"))
            .await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(
        s.find_identity("p", "Google", "3").await.unwrap(),
        None,
        "nothing written"
    );

    assert_eq!(
        s.link_identity(&link("p", "ada", "Google", "1"), 5)
            .await
            .unwrap(),
        LinkOutcome::AlreadyLinked
    );
    assert_eq!(
        s.link_identity(&link("p", "ada", "Google", "2"), 5)
            .await
            .unwrap(),
        LinkOutcome::LinkedToOther("bob".into())
    );
    assert_eq!(
        s.link_identity(&link("p", "zed", "X", "1"), 5)
            .await
            .unwrap(),
        LinkOutcome::NoSuchUser
    );
    for i in 0..MAX_LINKS_PER_USER - 1 {
        let l = link("p", "ada", "Facebook", &format!("f{i}"));
        assert_eq!(
            s.link_identity(&l, MAX_LINKS_PER_USER).await.unwrap(),
            LinkOutcome::Linked
        );
    }
    let sixth = link("p", "ada", "SAML", "x");
    assert_eq!(
        s.link_identity(&sixth, MAX_LINKS_PER_USER).await.unwrap(),
        LinkOutcome::LimitReached
    );
    assert_eq!(
        s.list_identities("p", "ada").await.unwrap().len(),
        MAX_LINKS_PER_USER
    );

    // The provider index follows links: ada stays a Facebook user until her last one goes.
    let fb = UserFilter {
        email_norm: None,
        provider: Some("Facebook".into()),
    };
    assert!(
        !s.unlink_identity("p", "bob", "Facebook", "f0")
            .await
            .unwrap(),
        "not bob's"
    );
    assert!(
        s.unlink_identity("p", "ada", "Facebook", "f0")
            .await
            .unwrap()
    );
    assert_eq!(
        s.list_users("p", &fb, 10, None).await.unwrap().items.len(),
        1
    );
    for i in 1..MAX_LINKS_PER_USER - 1 {
        assert!(
            s.unlink_identity("p", "ada", "Facebook", &format!("f{i}"))
                .await
                .unwrap()
        );
    }
    assert_eq!(
        s.list_users("p", &fb, 10, None).await.unwrap().items,
        vec![]
    );
    assert_eq!(s.list_identities("p", "ada").await.unwrap().len(), 1);
}

#[tokio::test]
async fn redis_update_and_delete_user_cascade() {
    let (_server, s) = store().await;
    // Characters that the key escaping must treat alike in Rust and in Lua.
    let name = "Ünï cøde:{user}*[1]%";
    let u = user("p", "id:1", name, Some("Mixed@Case.test"), 5);
    s.create_user_with_identity(&u, &link("p", "id:1", "Odd:Prov", "s/ü b"))
        .await
        .unwrap();
    s.link_identity(&link("p", "id:1", "Google", "g"), 5)
        .await
        .unwrap();
    assert_eq!(
        s.get_user_by_username("p", name).await.unwrap(),
        Some(u.clone())
    );
    assert_eq!(
        s.find_users_by_email("p", "mixed@case.test").await.unwrap(),
        vec![u.clone()]
    );

    let mut changed = u.clone();
    changed.username = "renamed {x}".into();
    changed.email = Some("new@x.test".into());
    changed.email_norm = Some("new@x.test".into());
    changed.enabled = false;
    assert!(s.update_user(&changed).await.unwrap());
    assert_eq!(
        s.get_user("p", "id:1").await.unwrap(),
        Some(changed.clone())
    );
    assert_eq!(s.get_user_by_username("p", name).await.unwrap(), None);
    assert_eq!(
        s.find_users_by_email("p", "mixed@case.test").await.unwrap(),
        vec![]
    );
    assert_eq!(
        s.find_users_by_email("p", "new@x.test").await.unwrap(),
        vec![changed.clone()]
    );
    let other = user("p", "o", "other", None, 6);
    s.create_user_with_identity(&other, &link("p", "o", "Google", "o"))
        .await
        .unwrap();
    let mut clash = changed.clone();
    clash.username = "other".into();
    assert!(matches!(
        s.update_user(&clash).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert!(
        !s.update_user(&user("p", "ghost", "ghost", None, 1))
            .await
            .unwrap()
    );

    s.insert_refresh(&refresh("p", "t1", "fam", "id:1", 9_000))
        .await
        .unwrap();
    s.insert_refresh(&refresh("p", "t2", "fam2", "id:1", 9_000))
        .await
        .unwrap();
    assert!(s.delete_user("p", "id:1").await.unwrap());
    assert!(!s.delete_user("p", "id:1").await.unwrap());
    assert_eq!(s.get_user("p", "id:1").await.unwrap(), None);
    assert_eq!(
        s.get_user_by_username("p", "renamed {x}").await.unwrap(),
        None
    );
    assert_eq!(
        s.find_users_by_email("p", "new@x.test").await.unwrap(),
        vec![]
    );
    assert_eq!(
        s.find_identity("p", "Odd:Prov", "s/ü b").await.unwrap(),
        None
    );
    assert_eq!(s.find_identity("p", "Google", "g").await.unwrap(), None);
    assert_eq!(s.list_identities("p", "id:1").await.unwrap(), vec![]);
    assert_eq!(s.get_refresh("p", "t1").await.unwrap(), None);
    assert_eq!(s.get_refresh("p", "t2").await.unwrap(), None);
    let google = UserFilter {
        email_norm: None,
        provider: Some("Google".into()),
    };
    let ids: Vec<_> = s
        .list_users("p", &google, 10, None)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(ids, ["o"]);
    // Username, email and identity are free again.
    let again = user("p", "id:2", "renamed {x}", Some("new@x.test"), 7);
    let outcome = s
        .create_user_with_identity(&again, &link("p", "id:2", "Odd:Prov", "s/ü b"))
        .await;
    assert_eq!(outcome.unwrap(), CreateUserOutcome::Created);
}
