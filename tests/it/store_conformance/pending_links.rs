//! Conformance: pending identity links (`AdminLinkProviderForUser` by a source
//! attribute). Made under the rules of links (user exists and is enabled, one user per
//! source, within the limit together with the links), claimed atomically by one
//! sign-in, and gone with their user, their provider and their pool.

use poolgate::model::{MAX_LINKS_PER_USER, UserFilter};
use poolgate::store::{
    ClaimOutcome, LinkOutcome, PendingLink, PendingOutcome, SharedBackend, StoreError,
};

use super::*;

const EMAIL_URI: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress";

pub fn pending(user: &User, provider: &str, attribute: &str, value: &str) -> PendingLink {
    PendingLink {
        pool_id: user.pool_id.clone(),
        provider_name: provider.into(),
        attribute_name: attribute.into(),
        attribute_value: value.into(),
        user_id: user.id.clone(),
        created_at_ms: 1_700_000_000_000,
    }
}

/// A stored user (with one link of `Native`, standing for its first identity).
async fn stored_user(b: &SharedBackend, p: &str, name: &str) -> User {
    let u = user(p, name, None, 100);
    create_linked(b, &u, "Native").await;
    u
}

pub async fn create_find_delete(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let ann = stored_user(b, &p, "ann").await;
    let bob = stored_user(b, &p, "bob").await;
    assert!(
        b.pending_link_attributes(&p, "Corp")
            .await
            .unwrap()
            .is_empty()
    );
    let by_mail = pending(&ann, "Corp", "email", "ann@corp.example");
    assert_eq!(
        b.create_pending_link(&by_mail, MAX_LINKS_PER_USER)
            .await
            .unwrap(),
        PendingOutcome::Created
    );
    // Odd characters in every part stay apart (keys are escaped).
    let by_uri = pending(&ann, "Corp", EMAIL_URI, "a:b{c}*%20 é");
    assert_eq!(
        b.create_pending_link(&by_uri, MAX_LINKS_PER_USER)
            .await
            .unwrap(),
        PendingOutcome::Created
    );
    assert_eq!(
        b.find_pending_link(&p, "Corp", "email", "ann@corp.example")
            .await
            .unwrap(),
        Some(by_mail.clone())
    );
    assert_eq!(
        b.find_pending_link(&p, "Corp", EMAIL_URI, "a:b{c}*%20 é")
            .await
            .unwrap(),
        Some(by_uri.clone())
    );
    for (prov, attr, value) in [
        ("Corp", "email", "ANN@corp.example"),
        ("Corp", "Email", "ann@corp.example"),
        ("Corp2", "email", "ann@corp.example"),
        ("Corp", "email:ann@corp.example", ""),
    ] {
        assert_eq!(
            b.find_pending_link(&p, prov, attr, value).await.unwrap(),
            None,
            "{prov} {attr} {value}"
        );
    }
    let q = fresh_pool(b).await;
    assert_eq!(
        b.find_pending_link(&q, "Corp", "email", "ann@corp.example")
            .await
            .unwrap(),
        None,
        "another pool sees none of it"
    );
    let mut attrs = vec!["email".to_owned(), EMAIL_URI.to_owned()];
    attrs.sort();
    assert_eq!(b.pending_link_attributes(&p, "Corp").await.unwrap(), attrs);
    assert_eq!(
        b.list_pending_links(&p, &ann.id).await.unwrap().len(),
        2,
        "both of ann's"
    );
    assert!(b.list_pending_links(&p, &bob.id).await.unwrap().is_empty());

    // The same source again: for the same user nothing changes, for another it is
    // refused.
    assert_eq!(
        b.create_pending_link(&by_mail, MAX_LINKS_PER_USER)
            .await
            .unwrap(),
        PendingOutcome::AlreadyPending
    );
    let stolen = pending(&bob, "Corp", "email", "ann@corp.example");
    assert_eq!(
        b.create_pending_link(&stolen, MAX_LINKS_PER_USER)
            .await
            .unwrap(),
        PendingOutcome::PendingForOther(ann.id.clone())
    );
    assert!(b.list_pending_links(&p, &bob.id).await.unwrap().is_empty());

    // Unknown or disabled users gain nothing.
    let ghost = user(&p, "ghost", None, 100);
    assert_eq!(
        b.create_pending_link(
            &pending(&ghost, "Corp", "email", "g@corp.example"),
            MAX_LINKS_PER_USER
        )
        .await
        .unwrap(),
        PendingOutcome::NoSuchUser
    );
    let mut off = bob.clone();
    off.enabled = false;
    assert!(b.update_user(&off).await.unwrap());
    assert_eq!(
        b.create_pending_link(
            &pending(&bob, "Corp", "email", "bob@corp.example"),
            MAX_LINKS_PER_USER
        )
        .await
        .unwrap(),
        PendingOutcome::Disabled
    );
    assert_eq!(
        b.find_pending_link(&p, "Corp", "email", "bob@corp.example")
            .await
            .unwrap(),
        None
    );

    // Deleting: only the owner's when one is named; then it is gone everywhere.
    assert_eq!(
        b.delete_pending_link(&p, "Corp", "email", "ann@corp.example", Some(&bob.id))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        b.delete_pending_link(&p, "Corp", "email", "ann@corp.example", Some(&ann.id))
            .await
            .unwrap(),
        Some(by_mail.clone())
    );
    assert_eq!(
        b.delete_pending_link(&p, "Corp", "email", "ann@corp.example", None)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        b.pending_link_attributes(&p, "Corp").await.unwrap(),
        vec![EMAIL_URI.to_owned()],
        "no pending link names email any more"
    );
    assert_eq!(
        b.delete_pending_link(&p, "Corp", EMAIL_URI, "a:b{c}*%20 é", None)
            .await
            .unwrap(),
        Some(by_uri)
    );
    assert!(
        b.pending_link_attributes(&p, "Corp")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(b.list_pending_links(&p, &ann.id).await.unwrap().is_empty());
    // Free again: bob (enabled again) may have it.
    assert!(b.update_user(&bob).await.unwrap());
    assert_eq!(
        b.create_pending_link(&stolen, MAX_LINKS_PER_USER)
            .await
            .unwrap(),
        PendingOutcome::Created
    );
}

pub async fn count_toward_the_limit(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let ann = stored_user(b, &p, "ann").await;
    // One link and four pending links: five.
    for i in 0..MAX_LINKS_PER_USER - 1 {
        let pl = pending(&ann, "Corp", "email", &format!("ann{i}@corp.example"));
        assert_eq!(
            b.create_pending_link(&pl, MAX_LINKS_PER_USER)
                .await
                .unwrap(),
            PendingOutcome::Created
        );
    }
    let sixth = pending(&ann, "Corp", "email", "ann9@corp.example");
    assert_eq!(
        b.create_pending_link(&sixth, MAX_LINKS_PER_USER)
            .await
            .unwrap(),
        PendingOutcome::LimitReached
    );
    assert_eq!(
        b.find_pending_link(&p, "Corp", "email", "ann9@corp.example")
            .await
            .unwrap(),
        None
    );
    let extra = link(&ann, "Google", &uid());
    assert_eq!(
        b.link_identity(&extra, MAX_LINKS_PER_USER).await.unwrap(),
        LinkOutcome::LimitReached,
        "pending links count toward the limit of links"
    );
    // A claim turns a pending link into a link: still five, and allowed.
    let first = pending(&ann, "Corp", "email", "ann0@corp.example");
    let l = link(&ann, "Corp", &uid());
    assert_eq!(
        b.claim_pending_link(&first, &l, MAX_LINKS_PER_USER)
            .await
            .unwrap(),
        ClaimOutcome::Linked
    );
    assert_eq!(b.list_identities(&p, &ann.id).await.unwrap().len(), 2);
    assert_eq!(b.list_pending_links(&p, &ann.id).await.unwrap().len(), 3);
    // One pending link removed: room for one link.
    b.delete_pending_link(&p, "Corp", "email", "ann1@corp.example", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        b.link_identity(&extra, MAX_LINKS_PER_USER).await.unwrap(),
        LinkOutcome::Linked
    );
    assert_eq!(
        b.create_pending_link(&sixth, MAX_LINKS_PER_USER)
            .await
            .unwrap(),
        PendingOutcome::LimitReached
    );
}

pub async fn claim(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let ann = stored_user(b, &p, "ann").await;
    let bob = stored_user(b, &p, "bob").await;
    let pl = pending(&ann, "Corp", "email", "ann@corp.example");
    b.create_pending_link(&pl, MAX_LINKS_PER_USER)
        .await
        .unwrap();

    // A link that does not belong to the pending link is refused outright.
    let wrong = link(&bob, "Corp", &uid());
    let res = b.claim_pending_link(&pl, &wrong, MAX_LINKS_PER_USER).await;
    assert!(matches!(res, Err(StoreError::Invalid(_))), "{res:?}");

    // An identity linked already (to bob): its owner, and the pending link stays.
    let bobs = link(&bob, "Corp", &uid());
    assert_eq!(
        b.link_identity(&bobs, MAX_LINKS_PER_USER).await.unwrap(),
        LinkOutcome::Linked
    );
    let mut same = bobs.clone();
    same.user_id = ann.id.clone();
    assert_eq!(
        b.claim_pending_link(&pl, &same, MAX_LINKS_PER_USER)
            .await
            .unwrap(),
        ClaimOutcome::IdentityTaken(bob.id.clone())
    );
    assert_eq!(
        b.find_pending_link(&p, "Corp", "email", "ann@corp.example")
            .await
            .unwrap(),
        Some(pl.clone())
    );

    // A disabled user: nothing changes.
    let l = link(&ann, "Corp", &uid());
    let mut off = ann.clone();
    off.enabled = false;
    assert!(b.update_user(&off).await.unwrap());
    assert_eq!(
        b.claim_pending_link(&pl, &l, MAX_LINKS_PER_USER)
            .await
            .unwrap(),
        ClaimOutcome::Disabled
    );
    assert_eq!(b.find_identity(&p, "Corp", &l.subject).await.unwrap(), None);
    assert!(b.update_user(&ann).await.unwrap());

    // The claim: a link by subject, the pending link gone, the user listed under the
    // provider.
    assert_eq!(
        b.claim_pending_link(&pl, &l, MAX_LINKS_PER_USER)
            .await
            .unwrap(),
        ClaimOutcome::Linked
    );
    assert_eq!(
        b.find_identity(&p, "Corp", &l.subject).await.unwrap(),
        Some(l.clone())
    );
    assert_eq!(
        b.find_pending_link(&p, "Corp", "email", "ann@corp.example")
            .await
            .unwrap(),
        None
    );
    assert!(
        b.pending_link_attributes(&p, "Corp")
            .await
            .unwrap()
            .is_empty()
    );
    let listed = b
        .list_users(
            &p,
            &UserFilter {
                provider: Some("Corp".into()),
                ..Default::default()
            },
            60,
            None,
        )
        .await
        .unwrap();
    assert!(listed.items.iter().any(|u| u.id == ann.id));

    // A second identity with the same value finds nothing left.
    let l2 = link(&ann, "Corp", &uid());
    assert_eq!(
        b.claim_pending_link(&pl, &l2, MAX_LINKS_PER_USER)
            .await
            .unwrap(),
        ClaimOutcome::Gone
    );
    assert_eq!(
        b.find_identity(&p, "Corp", &l2.subject).await.unwrap(),
        None
    );
    // A pending link that names another user now is not claimed either.
    let for_bob = pending(&bob, "Corp", "email", "ann@corp.example");
    b.create_pending_link(&for_bob, MAX_LINKS_PER_USER)
        .await
        .unwrap();
    assert_eq!(
        b.claim_pending_link(&pl, &l2, MAX_LINKS_PER_USER)
            .await
            .unwrap(),
        ClaimOutcome::Gone
    );
    assert_eq!(
        b.find_pending_link(&p, "Corp", "email", "ann@corp.example")
            .await
            .unwrap(),
        Some(for_bob)
    );
}

/// Many sign-ins claim one pending link at once: different identities (one wins, the
/// others find it gone) and the same identity (one links, the others find it linked).
pub async fn concurrent_claims(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let ann = stored_user(b, &p, "ann").await;
    let pl = pending(&ann, "Corp", "email", "ann@corp.example");
    b.create_pending_link(&pl, MAX_LINKS_PER_USER)
        .await
        .unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (b, pl, l) = (b.clone(), pl.clone(), link(&ann, "Corp", &uid()));
            tokio::spawn(async move { b.claim_pending_link(&pl, &l, MAX_LINKS_PER_USER).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap().unwrap());
    }
    let linked = outcomes
        .iter()
        .filter(|o| **o == ClaimOutcome::Linked)
        .count();
    assert_eq!(linked, 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, ClaimOutcome::Linked | ClaimOutcome::Gone)),
        "{outcomes:?}"
    );
    assert_eq!(b.list_identities(&p, &ann.id).await.unwrap().len(), 2);

    let pl = pending(&ann, "Corp", "email", "ann2@corp.example");
    b.create_pending_link(&pl, MAX_LINKS_PER_USER)
        .await
        .unwrap();
    let l = link(&ann, "Corp", &uid());
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (b, pl, l) = (b.clone(), pl.clone(), l.clone());
            tokio::spawn(async move { b.claim_pending_link(&pl, &l, MAX_LINKS_PER_USER).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap().unwrap());
    }
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| **o == ClaimOutcome::Linked)
            .count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes.iter().all(
            |o| *o == ClaimOutcome::Linked || *o == ClaimOutcome::IdentityTaken(ann.id.clone())
        ),
        "{outcomes:?}"
    );
    assert_eq!(b.list_identities(&p, &ann.id).await.unwrap().len(), 3);
    assert!(b.list_pending_links(&p, &ann.id).await.unwrap().is_empty());
}

pub async fn gone_with_user_provider_and_pool(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let ann = stored_user(b, &p, "ann").await;
    let bob = stored_user(b, &p, "bob").await;
    let pl = pending(&ann, "Corp", "email", "ann@corp.example");
    b.create_pending_link(&pl, MAX_LINKS_PER_USER)
        .await
        .unwrap();
    b.create_pending_link(
        &pending(&ann, "Other", "email", "ann@corp.example"),
        MAX_LINKS_PER_USER,
    )
    .await
    .unwrap();
    assert!(b.delete_user(&p, &ann.id).await.unwrap());
    for prov in ["Corp", "Other"] {
        assert_eq!(
            b.find_pending_link(&p, prov, "email", "ann@corp.example")
                .await
                .unwrap(),
            None,
            "{prov}"
        );
        assert!(
            b.pending_link_attributes(&p, prov)
                .await
                .unwrap()
                .is_empty()
        );
    }
    assert!(b.list_pending_links(&p, &ann.id).await.unwrap().is_empty());
    // The source is free for another user.
    let for_bob = pending(&bob, "Corp", "email", "ann@corp.example");
    assert_eq!(
        b.create_pending_link(&for_bob, MAX_LINKS_PER_USER)
            .await
            .unwrap(),
        PendingOutcome::Created
    );

    // The provider's deletion takes its pending links; another provider's stay.
    b.put_provider(&provider(&p, "Corp")).await.unwrap();
    let keep = pending(&bob, "Other", "upn", "bob@corp.example");
    b.create_pending_link(&keep, MAX_LINKS_PER_USER)
        .await
        .unwrap();
    for i in 0..2 {
        let more = pending(&bob, "Corp", "upn", &format!("bob{i}@corp.example"));
        b.create_pending_link(&more, MAX_LINKS_PER_USER)
            .await
            .unwrap();
    }
    assert!(b.delete_provider(&p, "Corp").await.unwrap());
    assert!(
        b.pending_link_attributes(&p, "Corp")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        b.find_pending_link(&p, "Corp", "email", "ann@corp.example")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        b.list_pending_links(&p, &bob.id).await.unwrap(),
        vec![keep.clone()]
    );
    // Bob has room again for what the deletion freed.
    for i in 0..3 {
        let more = pending(&bob, "Other", "upn", &format!("b{i}@corp.example"));
        assert_eq!(
            b.create_pending_link(&more, MAX_LINKS_PER_USER)
                .await
                .unwrap(),
            PendingOutcome::Created,
            "{i}"
        );
    }

    // The pool's deletion takes the rest.
    assert!(b.delete_pool(&p).await.unwrap());
    assert_eq!(
        b.find_pending_link(&p, "Other", "upn", "bob@corp.example")
            .await
            .unwrap(),
        None
    );
    assert!(
        b.pending_link_attributes(&p, "Other")
            .await
            .unwrap()
            .is_empty()
    );
}
