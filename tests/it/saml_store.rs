//! Conformance of the SAML SP key record (`get_sp_keys` / `put_sp_keys`), called from
//! the store conformance suite for every backend.

use poolgate::store::SharedBackend;

pub async fn sp_keys(b: &SharedBackend) {
    let pool = format!("sp-{}", uuid::Uuid::new_v4().simple());
    assert_eq!(b.get_sp_keys(&pool).await.unwrap(), None);
    // Insert-if-absent: the first writer wins, the second is told so.
    assert!(b.put_sp_keys(&pool, "{\"v\":1}", None).await.unwrap());
    assert!(!b.put_sp_keys(&pool, "{\"v\":2}", None).await.unwrap());
    assert_eq!(
        b.get_sp_keys(&pool).await.unwrap().as_deref(),
        Some("{\"v\":1}")
    );
    // Compare-and-swap: only from the expected value.
    assert!(
        !b.put_sp_keys(&pool, "{\"v\":3}", Some("{\"v\":9}"))
            .await
            .unwrap()
    );
    assert!(
        b.put_sp_keys(&pool, "{\"v\":3}", Some("{\"v\":1}"))
            .await
            .unwrap()
    );
    assert_eq!(
        b.get_sp_keys(&pool).await.unwrap().as_deref(),
        Some("{\"v\":3}")
    );
    // Another pool is unaffected.
    assert_eq!(b.get_sp_keys(&format!("{pool}-x")).await.unwrap(), None);
}
