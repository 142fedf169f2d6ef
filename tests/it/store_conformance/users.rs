//! Conformance: users, identity links, the atomic first sign-in, paging and cascades.

use poolgate::model::{MAX_LINKS_PER_USER, UserFilter};
use poolgate::store::{CreateUserOutcome, LinkOutcome, SharedBackend, StoreError};

use super::*;

pub async fn lookups(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let missing = uid();
    assert_eq!(b.get_user(&p, &missing).await.unwrap(), None);
    assert_eq!(b.get_user_by_username(&p, &missing).await.unwrap(), None);
    assert!(
        b.find_users_by_email(&p, "nobody@example.test")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(b.find_identity(&p, "Google", &missing).await.unwrap(), None);
    assert!(b.list_identities(&p, &missing).await.unwrap().is_empty());

    let u1 = user(&p, "Google_1", Some("Ann@Example.test"), 100);
    let l1 = create_linked(b, &u1, "Google").await;
    let u2 = user(&p, "Corp_2", Some("ann@example.test"), 200);
    create_linked(b, &u2, "Corp").await;
    assert_eq!(b.get_user(&p, &u1.id).await.unwrap(), Some(u1.clone()));
    assert_eq!(
        b.get_user_by_username(&p, "Google_1").await.unwrap(),
        Some(u1.clone())
    );
    assert_eq!(
        b.find_users_by_email(&p, "ann@example.test").await.unwrap(),
        vec![u1.clone(), u2.clone()],
        "oldest first"
    );
    assert_eq!(
        b.find_identity(&p, "Google", &l1.subject).await.unwrap(),
        Some(l1.clone())
    );
    assert_eq!(
        b.find_identity(&p, "Corp", &l1.subject).await.unwrap(),
        None
    );
    assert_eq!(
        b.list_identities(&p, &u1.id).await.unwrap(),
        vec![l1.clone()]
    );

    // Another pool sees none of it.
    let q = fresh_pool(b).await;
    assert_eq!(b.get_user(&q, &u1.id).await.unwrap(), None);
    assert_eq!(b.get_user_by_username(&q, "Google_1").await.unwrap(), None);
    assert_eq!(
        b.find_identity(&q, "Google", &l1.subject).await.unwrap(),
        None
    );

    // A taken username is refused, and nothing of the attempt is written.
    let dup = user(&p, "Google_1", None, 300);
    let dup_link = link(&dup, "Corp", &uid());
    let res = b.create_user_with_identity(&dup, &dup_link).await;
    assert!(matches!(res, Err(StoreError::AlreadyExists(_))), "{res:?}");
    assert_eq!(b.get_user(&p, &dup.id).await.unwrap(), None);
    assert_eq!(
        b.find_identity(&p, "Corp", &dup_link.subject)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        b.get_user_by_username(&p, "Google_1").await.unwrap(),
        Some(u1)
    );
}

pub async fn update(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let u = user(&p, "upd", Some("old@example.test"), 100);
    create_linked(b, &u, "Google").await;
    let other = user(&p, "other", None, 100);
    create_linked(b, &other, "Google").await;

    let mut changed = u.clone();
    changed.enabled = false;
    changed.email = Some("New@Example.test".into());
    changed.email_norm = Some("new@example.test".into());
    changed
        .attributes
        .insert("given_name".into(), serde_json::json!("Ann"));
    changed.groups.clear();
    changed.updated_at = 500;
    changed.tokens_valid_after = 499;
    assert!(b.update_user(&changed).await.unwrap());
    assert_eq!(b.get_user(&p, &u.id).await.unwrap(), Some(changed.clone()));
    assert_eq!(
        b.get_user_by_username(&p, "upd").await.unwrap(),
        Some(changed.clone())
    );
    assert!(
        b.find_users_by_email(&p, "old@example.test")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        b.find_users_by_email(&p, "new@example.test").await.unwrap(),
        vec![changed.clone()]
    );

    let mut ghost = user(&p, "ghost", None, 1);
    ghost.id = uid();
    assert!(!b.update_user(&ghost).await.unwrap());
    assert_eq!(b.get_user(&p, &ghost.id).await.unwrap(), None);

    // Usernames stay unique per pool.
    let mut clash = changed.clone();
    clash.username = "other".into();
    let res = b.update_user(&clash).await;
    assert!(matches!(res, Err(StoreError::AlreadyExists(_))), "{res:?}");
    assert_eq!(b.get_user(&p, &u.id).await.unwrap(), Some(changed));
    assert_eq!(
        b.get_user_by_username(&p, "other").await.unwrap(),
        Some(other)
    );
}

pub async fn identity_taken(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let first = user(&p, "first", None, 1);
    let l = create_linked(b, &first, "Google").await;
    let second = user(&p, "second", None, 2);
    let mut l2 = l.clone();
    l2.user_id = second.id.clone();
    let outcome = b.create_user_with_identity(&second, &l2).await.unwrap();
    assert_eq!(outcome, CreateUserOutcome::IdentityTaken(first.id.clone()));
    assert_eq!(b.get_user(&p, &second.id).await.unwrap(), None);
    assert_eq!(b.get_user_by_username(&p, "second").await.unwrap(), None);
    assert_eq!(
        b.find_identity(&p, "Google", &l.subject).await.unwrap(),
        Some(l)
    );
}

pub async fn concurrent_first_sign_in(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let subject = uid();
    let users: Vec<User> = (0..20)
        .map(|i| user(&p, &format!("racer{i}"), Some("racer@example.test"), i))
        .collect();
    let tasks: Vec<_> = users
        .iter()
        .map(|u| {
            let (b, u, l) = (b.clone(), u.clone(), link(u, "Google", &subject));
            tokio::spawn(async move { b.create_user_with_identity(&u, &l).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap().unwrap());
    }
    let winners: Vec<usize> = (0..20)
        .filter(|&i| outcomes[i] == CreateUserOutcome::Created)
        .collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    let winner = &users[winners[0]];
    for (i, o) in outcomes.iter().enumerate() {
        if i != winners[0] {
            assert_eq!(o, &CreateUserOutcome::IdentityTaken(winner.id.clone()));
        }
    }
    for u in &users {
        let stored = b.get_user(&p, &u.id).await.unwrap();
        assert_eq!(stored.is_some(), u.id == winner.id, "{}", u.username);
    }
    let found = b
        .find_identity(&p, "Google", &subject)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.user_id, winner.id);
    // The losers wrote nothing, not even to the indexes.
    assert_eq!(
        b.find_users_by_email(&p, "racer@example.test")
            .await
            .unwrap()
            .len(),
        1
    );
    let page = b
        .list_users(&p, &Default::default(), 60, None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1, "losers wrote nothing");
}

pub async fn link_and_unlink(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let u = user(&p, "linker", None, 1);
    let first = create_linked(b, &u, "Google").await;
    let mut links = vec![first.clone()];
    for i in 1..MAX_LINKS_PER_USER {
        let mut l = link(&u, &format!("Corp{i}"), &uid());
        l.primary = false;
        l.created_at_ms += i as i64;
        assert_eq!(
            b.link_identity(&l, MAX_LINKS_PER_USER).await.unwrap(),
            LinkOutcome::Linked
        );
        links.push(l);
    }
    let sort = |mut v: Vec<IdentityLink>| {
        v.sort_by(|a, b| (&a.provider_name, &a.subject).cmp(&(&b.provider_name, &b.subject)));
        v
    };
    assert_eq!(
        sort(b.list_identities(&p, &u.id).await.unwrap()),
        sort(links.clone())
    );
    for l in &links {
        assert_eq!(
            b.find_identity(&p, &l.provider_name, &l.subject)
                .await
                .unwrap()
                .as_ref(),
            Some(l)
        );
    }

    let extra = link(&u, "Extra", &uid());
    let outcome = b.link_identity(&extra, MAX_LINKS_PER_USER).await.unwrap();
    assert_eq!(outcome, LinkOutcome::LimitReached);
    assert_eq!(
        b.find_identity(&p, "Extra", &extra.subject).await.unwrap(),
        None
    );
    // Re-linking what is already linked is not a new link, even at the limit.
    let outcome = b.link_identity(&first, MAX_LINKS_PER_USER).await.unwrap();
    assert_eq!(outcome, LinkOutcome::AlreadyLinked);

    let other = user(&p, "other", None, 2);
    let other_link = create_linked(b, &other, "Google").await;
    let mut steal = other_link.clone();
    steal.user_id = u.id.clone();
    let outcome = b.link_identity(&steal, MAX_LINKS_PER_USER).await.unwrap();
    assert_eq!(outcome, LinkOutcome::LinkedToOther(other.id.clone()));
    let mut orphan = link(&u, "Google", &uid());
    orphan.user_id = uid();
    let outcome = b.link_identity(&orphan, MAX_LINKS_PER_USER).await.unwrap();
    assert_eq!(outcome, LinkOutcome::NoSuchUser);
    assert_eq!(
        b.find_identity(&p, "Google", &orphan.subject)
            .await
            .unwrap(),
        None
    );

    // Unlinking needs the right user, and frees a slot.
    assert!(
        !b.unlink_identity(&p, &other.id, "Google", &first.subject)
            .await
            .unwrap()
    );
    assert!(
        b.unlink_identity(&p, &u.id, "Google", &first.subject)
            .await
            .unwrap()
    );
    assert!(
        !b.unlink_identity(&p, &u.id, "Google", &first.subject)
            .await
            .unwrap()
    );
    assert_eq!(
        b.find_identity(&p, "Google", &first.subject).await.unwrap(),
        None
    );
    assert_eq!(
        b.list_identities(&p, &u.id).await.unwrap().len(),
        MAX_LINKS_PER_USER - 1
    );
    assert_eq!(
        b.link_identity(&extra, MAX_LINKS_PER_USER).await.unwrap(),
        LinkOutcome::Linked
    );
    assert_eq!(
        b.find_identity(&p, "Extra", &extra.subject).await.unwrap(),
        Some(extra)
    );
    assert_eq!(
        b.list_identities(&p, &other.id).await.unwrap(),
        vec![other_link]
    );
}

pub async fn delete_user_cascades(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let u = user(&p, "doomed", Some("d@example.test"), 1);
    let l1 = create_linked(b, &u, "Google").await;
    let l2 = link(&u, "Corp", &uid());
    assert_eq!(
        b.link_identity(&l2, MAX_LINKS_PER_USER).await.unwrap(),
        LinkOutcome::Linked
    );
    let keep = user(&p, "keeper", Some("d@example.test"), 2);
    let keep_link = create_linked(b, &keep, "Google").await;
    let family = uid();
    let (t1, t2) = (
        refresh(&p, &family, &u.id, i64::MAX / 2),
        refresh(&p, &uid(), &u.id, 10),
    );
    let kept = refresh(&p, &family, &keep.id, i64::MAX / 2);
    for t in [&t1, &t2, &kept] {
        b.insert_refresh(t).await.unwrap();
    }

    assert!(b.delete_user(&p, &u.id).await.unwrap());
    assert!(!b.delete_user(&p, &u.id).await.unwrap());
    assert_eq!(b.get_user(&p, &u.id).await.unwrap(), None);
    assert_eq!(b.get_user_by_username(&p, "doomed").await.unwrap(), None);
    assert_eq!(
        b.find_users_by_email(&p, "d@example.test").await.unwrap(),
        vec![keep.clone()]
    );
    assert_eq!(
        b.find_identity(&p, "Google", &l1.subject).await.unwrap(),
        None
    );
    assert_eq!(
        b.find_identity(&p, "Corp", &l2.subject).await.unwrap(),
        None
    );
    assert!(b.list_identities(&p, &u.id).await.unwrap().is_empty());
    assert_eq!(
        b.get_refresh(&t1.pool_id, &t1.token_hash).await.unwrap(),
        None
    );
    assert_eq!(
        b.get_refresh(&t2.pool_id, &t2.token_hash).await.unwrap(),
        None
    );
    assert_eq!(
        b.get_refresh(&kept.pool_id, &kept.token_hash)
            .await
            .unwrap(),
        Some(kept)
    );
    assert_eq!(
        b.find_identity(&p, "Google", &keep_link.subject)
            .await
            .unwrap(),
        Some(keep_link)
    );
    let listed = super::listing::read_all(b, &p, &UserFilter::default(), 10).await;
    assert_eq!(listed, vec![keep.id]);

    // The freed identity and username can be used again.
    let again = user(&p, "doomed", None, 3);
    let mut l = l1.clone();
    l.user_id = again.id.clone();
    assert_eq!(
        b.create_user_with_identity(&again, &l).await.unwrap(),
        CreateUserOutcome::Created
    );
}
