//! Conformance: writes that race. Partial user updates keep the fields they do not
//! name, provider replacement is a compare-and-set on `updated_at`, and a sign-in
//! racing an admin disable or global sign-out never writes back their stale values.

use std::sync::Arc;

use poolgate::admin::Admin;
use poolgate::clock::{SharedClock, SystemClock};
use poolgate::flow::{Flow, ProviderCache};
use poolgate::identity::Resolver;
use poolgate::metrics::Metrics;
use poolgate::provider::{ProviderContext, UpstreamIdentity};
use poolgate::store::{SharedBackend, UserPatch};
use poolgate::tls::CertStore;
use poolgate::token::KeyService;

use super::*;

pub async fn patch_user_keeps_what_it_does_not_name(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let missing = uid();
    let off = UserPatch {
        enabled: Some(false),
        ..UserPatch::default()
    };
    assert_eq!(b.patch_user(&p, &missing, &off).await.unwrap(), None);

    let u = user(&p, "patched", Some("old@example.test"), 10);
    create_linked(b, &u, "Google").await;
    let written = b.patch_user(&p, &u.id, &off).await.unwrap().unwrap();
    let mut want = u.clone();
    want.enabled = false;
    assert_eq!(written, want);
    assert_eq!(b.get_user(&p, &u.id).await.unwrap(), Some(want.clone()));

    // Attributes are merged key by key; the email index follows a new email.
    let profile = UserPatch {
        email: Some(Some("New@Example.test".into())),
        email_norm: Some(Some("new@example.test".into())),
        email_verified: Some(false),
        set_attributes: BTreeMap::from([("name".into(), json!("Ann New"))]),
        remove_attributes: vec!["picture".into()],
        groups: Some(vec!["admins".into()]),
        updated_at: Some(20),
        ..UserPatch::default()
    };
    let written = b.patch_user(&p, &u.id, &profile).await.unwrap().unwrap();
    assert!(!written.enabled, "a profile patch leaves enabled alone");
    assert_eq!(
        written.attributes,
        BTreeMap::from([("name".into(), json!("Ann New"))])
    );
    assert_eq!(written.groups, vec!["admins".to_owned()]);
    assert_eq!(written.updated_at, 20);
    assert_eq!(written.tokens_valid_after, 0);
    assert_eq!(b.get_user(&p, &u.id).await.unwrap(), Some(written.clone()));
    assert_eq!(
        b.find_users_by_email(&p, "new@example.test").await.unwrap(),
        vec![written.clone()]
    );
    assert!(
        b.find_users_by_email(&p, "old@example.test")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        b.get_user_by_username(&p, "patched").await.unwrap(),
        Some(written)
    );
}

/// Many writers, each naming its own field, at once: every write lands.
pub async fn concurrent_patches_all_land(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let u = user(&p, "busy", None, 1);
    create_linked(b, &u, "Google").await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (b, p, id) = (b.clone(), p.clone(), u.id.clone());
        tasks.push(tokio::spawn(async move {
            let patch = match i {
                0 => UserPatch {
                    enabled: Some(false),
                    ..UserPatch::default()
                },
                1 => UserPatch {
                    tokens_valid_after: Some(77),
                    ..UserPatch::default()
                },
                _ => UserPatch {
                    set_attributes: BTreeMap::from([(format!("a{i}"), json!(i))]),
                    ..UserPatch::default()
                },
            };
            b.patch_user(&p, &id, &patch).await.unwrap().is_some()
        }));
    }
    for t in tasks {
        assert!(t.await.unwrap());
    }
    let end = b.get_user(&p, &u.id).await.unwrap().unwrap();
    assert!(!end.enabled);
    assert_eq!(end.tokens_valid_after, 77);
    for i in 2..16 {
        assert_eq!(
            end.attributes.get(&format!("a{i}")),
            Some(&json!(i)),
            "{end:?}"
        );
    }
}

pub async fn replace_provider_is_compare_and_set(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let v1 = provider(&p, "Corp");
    assert!(
        !b.replace_provider(&v1, &v1.version).await.unwrap(),
        "absent"
    );
    assert_eq!(b.get_provider(&p, "Corp").await.unwrap(), None);
    b.put_provider(&v1).await.unwrap();

    let mut v2 = v1.clone();
    v2.idp_identifiers = vec!["v2.example.test".into()];
    v2.version = "v2".into();
    assert!(b.replace_provider(&v2, &v1.version).await.unwrap());
    assert_eq!(b.get_provider(&p, "Corp").await.unwrap(), Some(v2.clone()));

    // A writer that read v1 loses against v2, and changes nothing.
    let mut stale = v1.clone();
    stale.idp_identifiers = vec!["stale.example.test".into()];
    stale.version = "stale".into();
    assert!(!b.replace_provider(&stale, &v1.version).await.unwrap());
    assert_eq!(b.get_provider(&p, "Corp").await.unwrap(), Some(v2.clone()));
    assert_eq!(b.list_providers(&p).await.unwrap(), vec![v2.clone()]);

    // Two writes within one second (the same whole-second `updated_at`): the writer
    // that read the first loses against the second.
    let mut v3 = v2.clone();
    v3.idp_identifiers = vec!["v3.example.test".into()];
    v3.version = "v3".into();
    b.put_provider(&v3).await.unwrap();
    let mut late = v2.clone();
    late.version = "late".into();
    assert_eq!(late.updated_at, v3.updated_at);
    assert!(!b.replace_provider(&late, &v2.version).await.unwrap());
    assert_eq!(b.get_provider(&p, "Corp").await.unwrap(), Some(v3.clone()));

    // Deleted and created again within the second: a writer that read the old one
    // loses against the new registration.
    assert!(b.delete_provider(&p, "Corp").await.unwrap());
    let mut again = v1.clone();
    again.idp_identifiers = vec!["again.example.test".into()];
    again.version = "again".into();
    b.put_provider(&again).await.unwrap();
    let mut old = v3.clone();
    old.version = "old-refresh".into();
    assert!(!b.replace_provider(&old, &v3.version).await.unwrap());
    assert_eq!(
        b.get_provider(&p, "Corp").await.unwrap(),
        Some(again.clone())
    );

    // A record written before versions existed has the empty version.
    let mut legacy = v1.clone();
    legacy.version = String::new();
    b.put_provider(&legacy).await.unwrap();
    let mut fresh = legacy.clone();
    fresh.version = "fresh".into();
    assert!(b.replace_provider(&fresh, "").await.unwrap());
    assert_eq!(b.get_provider(&p, "Corp").await.unwrap(), Some(fresh));
}

/// The admin service over `b`, as the gateway builds it.
pub fn admin_over(b: &SharedBackend) -> Admin {
    let clock: SharedClock = Arc::new(SystemClock);
    let metrics = Arc::new(Metrics::new());
    let keys = Arc::new(KeyService::new(b.clone(), clock.clone()));
    let providers = Arc::new(ProviderCache::new(ProviderContext {
        http: reqwest::Client::new(),
        clock: clock.clone(),
    }));
    let flow = Arc::new(Flow::new(
        b.clone(),
        clock.clone(),
        keys.clone(),
        providers.clone(),
        metrics.clone(),
    ));
    let certs = Arc::new(CertStore::new(
        b.clone(),
        std::env::temp_dir().join(format!("poolgate-races-{}", uid())),
        metrics,
        clock.clone(),
        "localhost",
    ));
    Admin::new(b.clone(), clock, keys, providers, flow, certs)
}

/// Rounds of a sign-in (which updates the user's name) racing an admin disable and a
/// global sign-out: whatever the interleaving, the disable and the sign-out stand, and
/// a sign-in that succeeded has its name stored.
pub async fn sign_in_races_admin_writes(b: &SharedBackend) {
    let p = fresh_pool(b).await;
    let pool = b.get_pool(&p).await.unwrap().unwrap();
    let mut corp = provider(&p, "Corp");
    corp.attribute_mapping = BTreeMap::new();
    b.put_provider(&corp).await.unwrap();
    let admin = Arc::new(admin_over(b));
    let clock: SharedClock = Arc::new(SystemClock);
    let subject = uid();
    let upstream = |name: String| UpstreamIdentity {
        subject: subject.clone(),
        name: Some(name),
        ..UpstreamIdentity::default()
    };
    // The first sign-in creates the user.
    let resolver = Resolver {
        store: b,
        clock: &clock,
    };
    let first = resolver
        .resolve(&pool, &corp, &upstream("round -1".into()), &[])
        .await
        .unwrap();
    for round in 0..40 {
        admin.set_enabled(&p, &first.username, true).await.unwrap();
        let name = format!("round {round}");
        let sign_in = {
            let (b, pool, corp, up, clock) = (
                b.clone(),
                pool.clone(),
                corp.clone(),
                upstream(name.clone()),
                clock.clone(),
            );
            tokio::spawn(async move {
                Resolver {
                    store: &b,
                    clock: &clock,
                }
                .resolve(&pool, &corp, &up, &[])
                .await
                .is_ok()
            })
        };
        let disable = {
            let (admin, p, username) = (admin.clone(), p.clone(), first.username.clone());
            tokio::spawn(async move {
                admin.set_enabled(&p, &username, false).await.unwrap();
                admin.global_sign_out(&p, &username).await.unwrap();
            })
        };
        let signed_in = sign_in.await.unwrap();
        disable.await.unwrap();
        let end = b.get_user(&p, &first.id).await.unwrap().unwrap();
        assert!(!end.enabled, "round {round}: a sign-in undid the disable");
        assert!(
            end.tokens_valid_after > 0,
            "round {round}: a sign-in undid the global sign-out"
        );
        if signed_in {
            assert_eq!(
                end.attributes.get("name"),
                Some(&json!(name)),
                "round {round}: an admin write undid the sign-in's attributes"
            );
        }
        // The next round starts from a valid-after of 0 again.
        b.patch_user(
            &p,
            &first.id,
            &UserPatch {
                tokens_valid_after: Some(0),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap();
    }
}
