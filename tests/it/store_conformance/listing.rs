//! Conformance: the admin user list: order, cursor pages, filters, limits.

use std::collections::HashSet;

use poolgate::model::{MAX_LINKS_PER_USER, UserFilter};
use poolgate::store::{LinkOutcome, SharedBackend};

use super::*;

/// Reads every page of a listing; checks page sizes and that the listing ends.
pub async fn read_all(b: &SharedBackend, p: &str, f: &UserFilter, limit: usize) -> Vec<String> {
    let (mut ids, mut cursor) = (Vec::new(), None::<String>);
    for _ in 0..100 {
        let page = b.list_users(p, f, limit, cursor.as_deref()).await.unwrap();
        assert!(
            page.items.len() <= limit,
            "page of {} over limit {limit}",
            page.items.len()
        );
        assert!(
            page.next_cursor.is_none() || !page.items.is_empty(),
            "empty page with a cursor"
        );
        ids.extend(page.items.into_iter().map(|u| u.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return ids,
        }
    }
    panic!("listing did not end");
}

pub async fn list_pages_and_filters(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let none = UserFilter::default();
    assert_eq!(read_all(b, &p, &none, 3).await, Vec::<String>::new());

    // Equal creation times exercise the tie-break on id.
    let created = [100, 100, 100, 200, 300, 300, 400, 50];
    let mut all = Vec::new();
    for (i, at) in created.iter().enumerate() {
        let email = if i % 2 == 0 {
            "even@example.test"
        } else {
            "odd@example.test"
        };
        let u = user(&p, &format!("lister{i}"), Some(email), *at);
        create_linked(b, &u, if i % 3 == 0 { "Facebook" } else { "Google" }).await;
        all.push(u);
    }
    // User 1 (a Google user) also gets a Facebook link.
    let fb = link(&all[1], "Facebook", &uid());
    assert_eq!(
        b.link_identity(&fb, MAX_LINKS_PER_USER).await.unwrap(),
        LinkOutcome::Linked
    );
    all.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let pick = |keep: &dyn Fn(&User) -> bool| -> Vec<String> {
        all.iter()
            .filter(|u| keep(u))
            .map(|u| u.id.clone())
            .collect()
    };
    let fb_users: HashSet<&str> = ["lister0", "lister1", "lister3", "lister6"].into();

    for limit in [1, 3, 8, 20] {
        let ids = read_all(b, &p, &none, limit).await;
        assert_eq!(ids, pick(&|_| true), "limit {limit}");
    }
    let by_email = UserFilter {
        email_norm: Some("odd@example.test".into()),
        provider: None,
    };
    let expected = pick(&|u| u.email_norm.as_deref() == Some("odd@example.test"));
    assert_eq!(expected.len(), 4);
    assert_eq!(read_all(b, &p, &by_email, 3).await, expected);
    let by_provider = UserFilter {
        email_norm: None,
        provider: Some("Facebook".into()),
    };
    let expected = pick(&|u| fb_users.contains(u.username.as_str()));
    assert_eq!(read_all(b, &p, &by_provider, 2).await, expected);
    let both = UserFilter {
        email_norm: Some("even@example.test".into()),
        provider: Some("Facebook".into()),
    };
    let expected = pick(&|u| {
        fb_users.contains(u.username.as_str())
            && u.email_norm.as_deref() == Some("even@example.test")
    });
    assert_eq!(expected.len(), 2);
    assert_eq!(read_all(b, &p, &both, 1).await, expected);
    let nobody = UserFilter {
        email_norm: None,
        provider: Some("Nowhere".into()),
    };
    assert!(read_all(b, &p, &nobody, 5).await.is_empty());

    // Full records come back, and a garbage cursor is an error, not a silent restart.
    let page = b.list_users(&p, &none, 2, None).await.unwrap();
    assert_eq!(page.items, all[..2].to_vec());
    assert!(
        b.list_users(&p, &none, 2, Some("%%not a cursor%%"))
            .await
            .is_err()
    );
}

pub async fn list_limit_clamped(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    for i in 0..61 {
        create_linked(b, &user(&p, &format!("many{i}"), None, i), "Google").await;
    }
    let f = UserFilter::default();
    let page = b.list_users(&p, &f, 0, None).await.unwrap();
    assert_eq!(page.items.len(), 1, "limit 0 is clamped to 1");
    assert!(page.next_cursor.is_some());
    let page = b.list_users(&p, &f, 1000, None).await.unwrap();
    assert_eq!(page.items.len(), 60, "limit is clamped to 60");
    let rest = b
        .list_users(&p, &f, 1000, page.next_cursor.as_deref())
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.items[0].username, "many60");
    assert_eq!(rest.next_cursor, None);
}
