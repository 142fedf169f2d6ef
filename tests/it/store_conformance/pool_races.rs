//! Conformance: the pool compare-and-set, and concurrent admin changes of one pool
//! (settings PATCHes of different fields, a hook-secret rotation) that must all land.

use std::sync::Arc;

use poolgate::admin::PoolPatch;
use poolgate::store::{CasOutcome, SharedBackend};

use super::races::admin_over;
use super::*;

/// A stale compare-and-set loses and changes nothing; the fresh one wins.
pub async fn update_pool_if(b: &SharedBackend) {
    let missing = pool(&format!("conf-missing-{}", uid()));
    assert_eq!(
        b.update_pool_if(&missing, &missing).await.unwrap(),
        CasOutcome::Missing
    );
    assert_eq!(b.get_pool(&missing.id).await.unwrap(), None);

    let id = fresh_pool(b).await;
    let v1 = b.get_pool(&id).await.unwrap().unwrap();
    let mut v2 = v1.clone();
    v2.settings.name = Some("second".into());
    assert_eq!(
        b.update_pool_if(&v1, &v2).await.unwrap(),
        CasOutcome::Written
    );
    assert_eq!(b.get_pool(&id).await.unwrap(), Some(v2.clone()));

    // A writer that read v1 loses against v2, is told what is stored, writes nothing.
    let mut stale = v1.clone();
    stale.hook_secret = Some(HookSecret("stale".into()));
    assert_eq!(
        b.update_pool_if(&v1, &stale).await.unwrap(),
        CasOutcome::Changed(Box::new(v2.clone()))
    );
    assert_eq!(b.get_pool(&id).await.unwrap(), Some(v2.clone()));
    assert!(b.list_pools().await.unwrap().contains(&v2));

    // Retried on what is stored, it wins.
    let mut fresh = v2.clone();
    fresh.hook_secret = Some(HookSecret("fresh".into()));
    assert_eq!(
        b.update_pool_if(&v2, &fresh).await.unwrap(),
        CasOutcome::Written
    );
    assert_eq!(b.get_pool(&id).await.unwrap(), Some(fresh.clone()));

    // The id is not the CAS's to change.
    let mut moved = fresh.clone();
    moved.id = format!("conf-{}", uid());
    assert!(b.update_pool_if(&fresh, &moved).await.is_err());
    assert_eq!(b.get_pool(&id).await.unwrap(), Some(fresh));
    assert_eq!(b.get_pool(&moved.id).await.unwrap(), None);

    assert!(b.delete_pool(&id).await.unwrap());
    assert_eq!(
        b.update_pool_if(&v2, &v2).await.unwrap(),
        CasOutcome::Missing
    );
    assert_eq!(b.get_pool(&id).await.unwrap(), None);
}

fn patch(field: &str, value: &str) -> PoolPatch {
    PoolPatch {
        settings: Some([(field.to_owned(), json!(value))].into_iter().collect()),
    }
}

/// Rounds of two PATCHes of different settings fields and a hook-secret rotation,
/// concurrent, through the admin service: every change is present afterwards.
pub async fn admin_pool_changes_all_land(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let admin = Arc::new(admin_over(b));
    for round in 0..30 {
        let (name, entity) = (format!("round {round}"), format!("urn:round:{round}"));
        let by_name = {
            let (admin, p, name) = (admin.clone(), p.clone(), name.clone());
            tokio::spawn(async move { admin.patch_pool(&p, patch("name", &name)).await })
        };
        let by_entity = {
            let (admin, p, entity) = (admin.clone(), p.clone(), entity.clone());
            tokio::spawn(async move { admin.patch_pool(&p, patch("sp_entity_id", &entity)).await })
        };
        let rotation = {
            let (admin, p) = (admin.clone(), p.clone());
            tokio::spawn(async move { admin.rotate_hook_secret(&p).await })
        };
        by_name.await.unwrap().unwrap();
        by_entity.await.unwrap().unwrap();
        let secret = rotation.await.unwrap().unwrap().new_hook_secret;
        assert!(
            secret.is_some(),
            "round {round}: a rotation shows its secret"
        );

        let end = b.get_pool(&p).await.unwrap().unwrap();
        assert_eq!(
            end.settings.name.as_deref(),
            Some(name.as_str()),
            "round {round}: the name PATCH was lost"
        );
        assert_eq!(
            end.settings.sp_entity_id.as_deref(),
            Some(entity.as_str()),
            "round {round}: the sp_entity_id PATCH was lost"
        );
        assert!(
            end.hook_secret == secret,
            "round {round}: the hook-secret rotation was lost"
        );
        assert_eq!(
            admin.get_pool(&p).await.unwrap().pool,
            end,
            "round {round}: the admin service reads what is stored"
        );
    }
}

/// Rounds of a tag change (`TagResource` / `UntagResource`) racing a PATCH of another
/// setting: the tag change is applied to the settings as stored at the write, so the
/// PATCH is never reverted, and the tags land too.
pub async fn admin_tags_keep_concurrent_patches(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let admin = Arc::new(admin_over(b));
    for round in 0..30u32 {
        let name = format!("round {round}");
        let key = format!("k{round}");
        let by_name = {
            let (admin, p, name) = (admin.clone(), p.clone(), name.clone());
            tokio::spawn(async move { admin.patch_pool(&p, patch("name", &name)).await })
        };
        let tagging = {
            let (admin, p, key) = (admin.clone(), p.clone(), key.clone());
            tokio::spawn(async move {
                let tags = [(key, "v".to_owned())].into_iter().collect();
                admin.tag_pool(&p, tags).await
            })
        };
        let untagging = {
            let (admin, p) = (admin.clone(), p.clone());
            let old = round.checked_sub(1).map(|r| format!("k{r}"));
            tokio::spawn(async move {
                let keys: Vec<String> = old.into_iter().collect();
                admin.untag_pool(&p, &keys).await
            })
        };
        by_name.await.unwrap().unwrap();
        tagging.await.unwrap().unwrap();
        untagging.await.unwrap().unwrap();
        let end = b.get_pool(&p).await.unwrap().unwrap();
        assert_eq!(
            end.settings.name.as_deref(),
            Some(name.as_str()),
            "round {round}: the name PATCH was reverted by a tag change"
        );
        assert_eq!(
            end.settings.tags.get(&key).map(String::as_str),
            Some("v"),
            "round {round}: the tag was lost"
        );
        if round > 0 {
            assert!(
                !end.settings.tags.contains_key(&format!("k{}", round - 1)),
                "round {round}: the untag was lost"
            );
        }
    }
}
