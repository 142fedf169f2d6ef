//! Conformance: the account-takeover paths of issue 12. A disabled user gains no link,
//! and a provider's deletion takes its identity links with it (the users stay).

use poolgate::model::MAX_LINKS_PER_USER;
use poolgate::store::{LinkOutcome, SharedBackend};

use super::*;

pub async fn disabled_user_gains_no_link(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let mut u = user(&p, "Corp_1", Some("ann@example.test"), 100);
    create_linked(b, &u, "Corp").await;
    u.enabled = false;
    assert!(b.update_user(&u).await.unwrap());
    let extra = link(&u, "Google", &uid());
    let outcome = b.link_identity(&extra, MAX_LINKS_PER_USER).await.unwrap();
    assert_eq!(outcome, LinkOutcome::Disabled);
    assert_eq!(
        b.find_identity(&p, "Google", &extra.subject).await.unwrap(),
        None,
        "nothing written"
    );
    assert_eq!(b.list_identities(&p, &u.id).await.unwrap().len(), 1);
    // Enabled again: the same link is made.
    u.enabled = true;
    assert!(b.update_user(&u).await.unwrap());
    let outcome = b.link_identity(&extra, MAX_LINKS_PER_USER).await.unwrap();
    assert_eq!(outcome, LinkOutcome::Linked);
}

pub async fn provider_delete_unlinks(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    b.put_provider(&provider(&p, "Corp")).await.unwrap();
    b.put_provider(&provider(&p, "Corp2")).await.unwrap();
    // Users whose first link is Corp, one of them also linked to Corp2 and Google.
    let mut users = Vec::new();
    for i in 0..5 {
        let u = user(&p, &format!("Corp_{i}"), None, 100 + i);
        let l = create_linked(b, &u, "Corp").await;
        users.push((u, l));
    }
    let (u0, _) = &users[0];
    let both = link(u0, "Google", &uid());
    assert_eq!(
        b.link_identity(&both, MAX_LINKS_PER_USER).await.unwrap(),
        LinkOutcome::Linked
    );
    // A provider whose name has Corp as a prefix is not touched.
    let other = link(u0, "Corp2", &uid());
    assert_eq!(
        b.link_identity(&other, MAX_LINKS_PER_USER).await.unwrap(),
        LinkOutcome::Linked
    );

    assert!(b.delete_provider(&p, "Corp").await.unwrap());
    for (u, l) in &users {
        assert_eq!(
            b.find_identity(&p, "Corp", &l.subject).await.unwrap(),
            None,
            "the link went with its provider"
        );
        assert!(
            b.get_user(&p, &u.id).await.unwrap().is_some(),
            "the user stays"
        );
        assert!(
            b.list_identities(&p, &u.id)
                .await
                .unwrap()
                .iter()
                .all(|l| l.provider_name != "Corp")
        );
    }
    let left = b.list_identities(&p, &u0.id).await.unwrap();
    let mut names: Vec<_> = left.iter().map(|l| l.provider_name.clone()).collect();
    names.sort();
    assert_eq!(names, ["Corp2", "Google"]);
    let listed = b
        .list_users(
            &p,
            &poolgate::model::UserFilter {
                provider: Some("Corp".into()),
                ..Default::default()
            },
            60,
            None,
        )
        .await
        .unwrap();
    assert!(listed.items.is_empty(), "no user is listed under Corp");

    // Re-created under the same name: the old subjects are free, and land on no one.
    b.put_provider(&provider(&p, "Corp")).await.unwrap();
    let (_, l1) = &users[1];
    assert_eq!(
        b.find_identity(&p, "Corp", &l1.subject).await.unwrap(),
        None
    );
    // Deleting a provider that has no links (or no record) is fine.
    assert!(b.delete_provider(&p, "Corp").await.unwrap());
    assert!(!b.delete_provider(&p, "Corp").await.unwrap());
}
