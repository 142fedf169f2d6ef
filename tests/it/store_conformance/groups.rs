//! Groups: records, memberships checked atomically against both sides, cascades.

use poolgate::model::Group;
use poolgate::store::groups::user_group_names;
use poolgate::store::{MembershipOutcome, SharedBackend, StoreError};

use super::{create_linked, fresh_pool, uid, user};

fn group(pool: &str, name: &str, precedence: Option<i64>) -> Group {
    Group {
        pool_id: pool.into(),
        name: name.into(),
        description: Some(format!("the {name} group")),
        precedence,
        role_arn: Some("arn:aws:iam::123456789012:role/x".into()),
        created_at: 1_700_000_000,
        updated_at: 1_700_000_000,
    }
}

pub async fn groups(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let other = fresh_pool(b).await;
    let admins = group(&p, "admins", Some(1));
    b.create_group(&admins).await.unwrap();
    assert!(matches!(
        b.create_group(&admins).await,
        Err(StoreError::AlreadyExists(_))
    ));
    b.create_group(&group(&p, "staff", None)).await.unwrap();
    b.create_group(&group(&p, "beta", Some(5))).await.unwrap();
    assert_eq!(
        b.get_group(&p, "admins").await.unwrap(),
        Some(admins.clone())
    );
    assert_eq!(b.get_group(&other, "admins").await.unwrap(), None);
    let names: Vec<String> = b
        .list_groups(&p)
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(names, ["admins", "beta", "staff"]);
    assert!(b.list_groups(&other).await.unwrap().is_empty());

    let mut changed = admins.clone();
    changed.description = None;
    changed.precedence = Some(10);
    assert!(b.update_group(&changed).await.unwrap());
    assert_eq!(b.get_group(&p, "admins").await.unwrap(), Some(changed));
    assert!(!b.update_group(&group(&p, "nope", None)).await.unwrap());

    let u = user(&p, &format!("u-{}", uid()), None, 100);
    create_linked(b, &u, "Google").await;
    let v = user(&p, &format!("v-{}", uid()), None, 101);
    create_linked(b, &v, "Google").await;
    assert_eq!(
        b.add_to_group(&p, "admins", &u.id).await.unwrap(),
        MembershipOutcome::Added
    );
    assert_eq!(
        b.add_to_group(&p, "admins", &u.id).await.unwrap(),
        MembershipOutcome::AlreadyMember
    );
    assert_eq!(
        b.add_to_group(&p, "nope", &u.id).await.unwrap(),
        MembershipOutcome::NoSuchGroup
    );
    assert_eq!(
        b.add_to_group(&p, "admins", &uuid::Uuid::new_v4().to_string())
            .await
            .unwrap(),
        MembershipOutcome::NoSuchUser
    );
    // A user of another pool is no user of this one.
    assert_eq!(
        b.add_to_group(&other, "admins", &u.id).await.unwrap(),
        MembershipOutcome::NoSuchGroup
    );
    b.add_to_group(&p, "staff", &u.id).await.unwrap();
    b.add_to_group(&p, "beta", &u.id).await.unwrap();
    b.add_to_group(&p, "staff", &v.id).await.unwrap();
    // Token order: precedence (beta 5, admins 10), then unset (staff).
    assert_eq!(
        user_group_names(b.as_ref(), &p, &u.id).await.unwrap(),
        ["beta", "admins", "staff"]
    );
    let mut members = vec![u.id.clone(), v.id.clone()];
    members.sort();
    assert_eq!(b.group_members(&p, "staff").await.unwrap(), members);

    assert!(b.remove_from_group(&p, "beta", &u.id).await.unwrap());
    assert!(!b.remove_from_group(&p, "beta", &u.id).await.unwrap());
    assert_eq!(
        user_group_names(b.as_ref(), &p, &u.id).await.unwrap(),
        ["admins", "staff"]
    );

    // Deleting a group ends its memberships; one made later under that name has none.
    assert!(b.delete_group(&p, "staff").await.unwrap());
    assert!(!b.delete_group(&p, "staff").await.unwrap());
    assert_eq!(
        user_group_names(b.as_ref(), &p, &u.id).await.unwrap(),
        ["admins"]
    );
    assert!(
        user_group_names(b.as_ref(), &p, &v.id)
            .await
            .unwrap()
            .is_empty()
    );
    b.create_group(&group(&p, "staff", None)).await.unwrap();
    assert!(b.group_members(&p, "staff").await.unwrap().is_empty());

    // A deleted user is no longer listed as a member.
    assert!(b.delete_user(&p, &u.id).await.unwrap());
    assert!(b.group_members(&p, "admins").await.unwrap().is_empty());

    // Concurrent adds of one membership: exactly one adds it.
    b.create_group(&group(&p, "race", None)).await.unwrap();
    let adds = (0..8).map(|_| {
        let b = b.clone();
        let (p, id) = (p.clone(), v.id.clone());
        tokio::spawn(async move { b.add_to_group(&p, "race", &id).await.unwrap() })
    });
    let mut added = 0;
    for h in adds {
        if h.await.unwrap() == MembershipOutcome::Added {
            added += 1;
        }
    }
    assert_eq!(added, 1);

    // Deleting the pool deletes its groups.
    assert!(b.delete_pool(&p).await.unwrap());
    assert!(b.list_groups(&p).await.unwrap().is_empty());
    assert_eq!(b.get_group(&p, "admins").await.unwrap(), None);
}

/// Deleting a user deletes its memberships, not only hides them: none is left to list,
/// to remove, or to resurface; the group and its other members stay.
pub async fn delete_user_ends_memberships(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    b.create_group(&group(&p, "admins", Some(1))).await.unwrap();
    b.create_group(&group(&p, "staff", None)).await.unwrap();
    let u = user(&p, &format!("u-{}", uid()), None, 100);
    create_linked(b, &u, "Google").await;
    let v = user(&p, &format!("v-{}", uid()), None, 101);
    create_linked(b, &v, "Google").await;
    for (g, id) in [("admins", &u.id), ("staff", &u.id), ("staff", &v.id)] {
        assert_eq!(
            b.add_to_group(&p, g, id).await.unwrap(),
            MembershipOutcome::Added
        );
    }

    assert!(b.delete_user(&p, &u.id).await.unwrap());
    assert!(b.groups_of_user(&p, &u.id).await.unwrap().is_empty());
    assert!(
        user_group_names(b.as_ref(), &p, &u.id)
            .await
            .unwrap()
            .is_empty()
    );
    // Nothing of the membership is stored any more: there is none to remove.
    assert!(!b.remove_from_group(&p, "admins", &u.id).await.unwrap());
    assert!(!b.remove_from_group(&p, "staff", &u.id).await.unwrap());
    assert!(b.group_members(&p, "admins").await.unwrap().is_empty());
    assert_eq!(
        b.group_members(&p, "staff").await.unwrap(),
        std::slice::from_ref(&v.id)
    );
    assert_eq!(
        user_group_names(b.as_ref(), &p, &v.id).await.unwrap(),
        ["staff"]
    );
    assert!(b.get_group(&p, "admins").await.unwrap().is_some());
    // The deleted user cannot be added back.
    assert_eq!(
        b.add_to_group(&p, "admins", &u.id).await.unwrap(),
        MembershipOutcome::NoSuchUser
    );
}
