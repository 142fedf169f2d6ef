//! Conformance: the client compare-and-set, and concurrent admin changes of one client
//! (secrets added and deleted, a PATCH) that must all land, or be refused as the
//! state at the write demands (never two additions past the limit, never the last
//! secret deleted).

use std::sync::Arc;

use poolgate::admin::{AdminError, ClientPatch};
use poolgate::store::{CasOutcome, SharedBackend};

use super::races::admin_over;
use super::*;

/// A stale compare-and-set loses and changes nothing; the fresh one wins; a deleted
/// client is never re-created.
pub async fn update_client_if(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let missing = client(&p, &format!("c{}", uid()));
    assert_eq!(
        b.update_client_if(&missing, &missing).await.unwrap(),
        CasOutcome::Missing
    );
    assert_eq!(b.get_client(&p, &missing.client_id).await.unwrap(), None);

    let v1 = client(&p, &format!("c{}", uid()));
    b.put_client(&v1).await.unwrap();
    let mut v2 = v1.clone();
    v2.name = "second".into();
    assert_eq!(
        b.update_client_if(&v1, &v2).await.unwrap(),
        CasOutcome::Written
    );
    assert_eq!(
        b.get_client(&p, &v1.client_id).await.unwrap(),
        Some(v2.clone())
    );

    // A writer that read v1 loses against v2, is told what is stored, writes nothing.
    let mut stale = v1.clone();
    stale.callback_urls = vec!["https://stale.example.test/cb".into()];
    assert_eq!(
        b.update_client_if(&v1, &stale).await.unwrap(),
        CasOutcome::Changed(Box::new(v2.clone()))
    );
    assert_eq!(
        b.get_client(&p, &v1.client_id).await.unwrap(),
        Some(v2.clone())
    );

    let mut fresh = v2.clone();
    fresh.callback_urls = vec!["https://fresh.example.test/cb".into()];
    assert_eq!(
        b.update_client_if(&v2, &fresh).await.unwrap(),
        CasOutcome::Written
    );
    assert_eq!(
        b.get_client(&p, &v1.client_id).await.unwrap(),
        Some(fresh.clone())
    );

    // The id is not the CAS's to change.
    let mut moved = fresh.clone();
    moved.client_id = format!("c{}", uid());
    assert!(b.update_client_if(&fresh, &moved).await.is_err());
    assert_eq!(b.get_client(&p, &moved.client_id).await.unwrap(), None);

    assert!(b.delete_client(&p, &v1.client_id).await.unwrap());
    assert_eq!(
        b.update_client_if(&fresh, &fresh).await.unwrap(),
        CasOutcome::Missing
    );
    assert_eq!(b.get_client(&p, &v1.client_id).await.unwrap(), None);
}

/// A confidential client made through the admin service (one sealed secret).
async fn confidential(admin: &poolgate::admin::Admin, pool: &str) -> String {
    let body: poolgate::admin::ClientBody = serde_json::from_value(json!({
        "name": "racer",
        "callback_urls": ["https://app.example.test/cb"],
        "allowed_oauth_flows": ["code"],
        "allowed_scopes": ["openid"],
        "supported_identity_providers": [],
        "generate_secret": true,
    }))
    .unwrap();
    admin
        .create_client(pool, body)
        .await
        .unwrap()
        .client
        .client_id
}

fn secret_ids(c: &AppClient) -> Vec<String> {
    c.secret_records().into_iter().map(|r| r.id).collect()
}

/// Rounds of concurrent changes of one client through the admin service:
/// - two secret additions on a client with one secret: one lands, the other is
///   refused by the limit (never both reported added with one of them lost);
/// - an addition and a PATCH of the name: both land;
/// - two deletions of its two secrets: one lands, the other is refused (the last
///   secret stays).
pub async fn admin_client_changes_all_land(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let admin = Arc::new(admin_over(b));
    for round in 0..12 {
        let id = confidential(&admin, &p).await;
        let first = b.get_client(&p, &id).await.unwrap().unwrap();
        assert_eq!(secret_ids(&first).len(), 1, "round {round}");

        let add = |admin: Arc<poolgate::admin::Admin>, p: String, id: String| {
            tokio::spawn(async move { admin.add_client_secret(&p, &id, None).await })
        };
        let (a, c) = (
            add(admin.clone(), p.clone(), id.clone()),
            add(admin.clone(), p.clone(), id.clone()),
        );
        let (a, c) = (a.await.unwrap(), c.await.unwrap());
        let stored = b.get_client(&p, &id).await.unwrap().unwrap();
        let ids = secret_ids(&stored);
        let added: Vec<String> = [&a, &c]
            .into_iter()
            .filter_map(|r| r.as_ref().ok().map(|i| i.id.clone()))
            .collect();
        assert_eq!(
            added.len(),
            1,
            "round {round}: one addition lands, {a:?} {c:?}"
        );
        for r in [&a, &c] {
            if let Err(e) = r {
                assert!(
                    matches!(e, AdminError::LimitExceeded(_)),
                    "round {round}: refused by the limit: {e:?}"
                );
            }
        }
        assert!(
            ids.contains(&added[0]),
            "round {round}: the secret reported added is stored: {ids:?}"
        );
        assert_eq!(ids.len(), 2, "round {round}: {ids:?}");

        // Two deletions at once: the client keeps one secret.
        let del = |admin: Arc<poolgate::admin::Admin>, p: String, id: String, s: String| {
            tokio::spawn(async move { admin.delete_client_secret(&p, &id, &s).await })
        };
        let (d1, d2) = (
            del(admin.clone(), p.clone(), id.clone(), ids[0].clone()),
            del(admin.clone(), p.clone(), id.clone(), ids[1].clone()),
        );
        let (d1, d2) = (d1.await.unwrap(), d2.await.unwrap());
        assert!(
            d1.is_ok() != d2.is_ok(),
            "round {round}: exactly one deletion lands: {d1:?} {d2:?}"
        );
        let stored = b.get_client(&p, &id).await.unwrap().unwrap();
        assert_eq!(
            secret_ids(&stored).len(),
            1,
            "round {round}: the last secret stays"
        );
        assert!(stored.secret_hash.is_some(), "round {round}");

        // An addition and a PATCH at once: both land.
        let name = format!("renamed {round}");
        let adding = add(admin.clone(), p.clone(), id.clone());
        let patching = {
            let (admin, p, id, name) = (admin.clone(), p.clone(), id.clone(), name.clone());
            tokio::spawn(async move {
                let patch = ClientPatch {
                    name: Some(name),
                    ..ClientPatch::default()
                };
                admin.patch_client(&p, &id, patch).await
            })
        };
        let new_secret = adding.await.unwrap().unwrap();
        patching.await.unwrap().unwrap();
        let stored = b.get_client(&p, &id).await.unwrap().unwrap();
        assert_eq!(stored.name, name, "round {round}: the PATCH was lost");
        assert!(
            secret_ids(&stored).contains(&new_secret.id),
            "round {round}: the added secret was lost"
        );
    }
}

/// Rounds of two `UpdateGroup`s of different fields at once: both land (each is a
/// compare-and-set on the group as stored at the write), and a deleted group is not
/// re-created by an update.
pub async fn admin_group_updates_all_land(b: &SharedBackend) {
    use poolgate::admin::groups::GroupInput;
    let p = fresh_pool(b).await;
    let admin = Arc::new(admin_over(b));
    admin
        .create_group(&p, "racers", GroupInput::default())
        .await
        .unwrap();
    for round in 0..30i64 {
        let text = format!("round {round}");
        let describe = {
            let (admin, p, text) = (admin.clone(), p.clone(), text.clone());
            tokio::spawn(async move {
                let g = GroupInput {
                    description: Some(text),
                    ..GroupInput::default()
                };
                admin.update_group(&p, "racers", g).await
            })
        };
        let rank = {
            let (admin, p) = (admin.clone(), p.clone());
            tokio::spawn(async move {
                let g = GroupInput {
                    precedence: Some(round),
                    ..GroupInput::default()
                };
                admin.update_group(&p, "racers", g).await
            })
        };
        describe.await.unwrap().unwrap();
        rank.await.unwrap().unwrap();
        let g = b.get_group(&p, "racers").await.unwrap().unwrap();
        assert_eq!(
            g.description.as_deref(),
            Some(text.as_str()),
            "round {round}: the description update was lost"
        );
        assert_eq!(
            g.precedence,
            Some(round),
            "round {round}: the precedence update was lost"
        );
    }
    admin.delete_group(&p, "racers").await.unwrap();
    let g = GroupInput {
        description: Some("again".into()),
        ..GroupInput::default()
    };
    assert!(matches!(
        admin.update_group(&p, "racers", g).await,
        Err(AdminError::NotFound(_))
    ));
    assert_eq!(b.get_group(&p, "racers").await.unwrap(), None);
}
