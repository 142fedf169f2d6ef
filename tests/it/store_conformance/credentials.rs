//! Native users' credentials: created with their user in one step, compare-and-set on
//! the version, gone with their user and their pool.

use poolgate::store::credentials::{
    CreateNativeOutcome, Credential, PasswordRecord, TotpRecord, UserStatus,
};
use poolgate::store::{CreateUserOutcome, SharedBackend};

use super::{fresh_pool, link, uid, user};

fn credential(pool: &str, user_id: &str) -> Credential {
    Credential {
        pool_id: pool.into(),
        user_id: user_id.into(),
        status: UserStatus::ForceChangePassword,
        password: Some(PasswordRecord {
            phc: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            srp_salt_hex: "1a2b".into(),
            srp_verifier_hex: "abcdef".into(),
            set_at: 1_700_000_000,
            expires_at: Some(1_700_600_000),
        }),
        totp: None,
        totp_enabled: false,
        totp_preferred: false,
        sms_enabled: false,
        sms_preferred: false,
        version: 0,
        updated_at: 1_700_000_000,
    }
}

pub async fn create_and_read(b: &SharedBackend) {
    let pool = fresh_pool(b).await;
    let name = format!("carol-{}", uid());
    let u = user(&pool, &name, Some("carol@example.test"), 1_700_000_000);
    let c = credential(&pool, &u.id);
    assert_eq!(
        b.create_native_user(&u, &c).await.unwrap(),
        CreateNativeOutcome::Created
    );
    assert_eq!(
        b.get_user_by_username(&pool, &name).await.unwrap(),
        Some(u.clone())
    );
    assert_eq!(
        b.find_users_by_email(&pool, "carol@example.test")
            .await
            .unwrap()
            .len(),
        1
    );
    let got = b.get_credential(&pool, &u.id).await.unwrap().unwrap();
    assert_eq!(got.version, 1, "a created credential is version 1");
    assert_eq!(got.password, c.password);
    assert_eq!(got.status, UserStatus::ForceChangePassword);

    // The same username again writes nothing: no second user, credential unchanged.
    let twin = user(&pool, &name, None, 1_700_000_001);
    assert_eq!(
        b.create_native_user(&twin, &credential(&pool, &twin.id))
            .await
            .unwrap(),
        CreateNativeOutcome::UsernameExists
    );
    assert_eq!(b.get_user(&pool, &twin.id).await.unwrap(), None);
    assert_eq!(b.get_credential(&pool, &twin.id).await.unwrap(), None);
    // A federated user's username is taken too.
    let fed = user(&pool, &format!("Google_{}", uid()), None, 1_700_000_002);
    assert_eq!(
        b.create_user_with_identity(&fed, &link(&fed, "Google", &uid()))
            .await
            .unwrap(),
        CreateUserOutcome::Created
    );
    let clash = user(&pool, &fed.username, None, 1_700_000_003);
    assert_eq!(
        b.create_native_user(&clash, &credential(&pool, &clash.id))
            .await
            .unwrap(),
        CreateNativeOutcome::UsernameExists
    );
    // Federated users have no credential.
    assert_eq!(b.get_credential(&pool, &fed.id).await.unwrap(), None);
    // Another pool does not see it.
    let other = fresh_pool(b).await;
    assert_eq!(b.get_credential(&other, &u.id).await.unwrap(), None);
}

pub async fn compare_and_set(b: &SharedBackend) {
    let pool = fresh_pool(b).await;
    let u = user(&pool, &format!("dave-{}", uid()), None, 1_700_000_000);
    b.create_native_user(&u, &credential(&pool, &u.id))
        .await
        .unwrap();
    let mut c = b.get_credential(&pool, &u.id).await.unwrap().unwrap();
    c.status = UserStatus::Confirmed;
    c.totp = Some(TotpRecord {
        secret_b32: "JBSWY3DPEHPK3PXP".into(),
        verified: true,
        last_step: Some(42),
        pending_secret_b32: None,
    });
    assert!(b.put_credential(&c, Some(1)).await.unwrap());
    let now = b.get_credential(&pool, &u.id).await.unwrap().unwrap();
    assert_eq!(now.version, 2);
    assert_eq!(now.status, UserStatus::Confirmed);
    assert_eq!(now.totp.as_ref().and_then(|t| t.last_step), Some(42));
    // A writer that read version 1 loses: nothing changes.
    let mut stale = c.clone();
    stale.status = UserStatus::ResetRequired;
    assert!(!b.put_credential(&stale, Some(1)).await.unwrap());
    assert_eq!(
        b.get_credential(&pool, &u.id)
            .await
            .unwrap()
            .unwrap()
            .status,
        UserStatus::Confirmed
    );
    // "None yet" is refused where one exists.
    assert!(!b.put_credential(&stale, None).await.unwrap());
    // A credential for a user that does not exist is refused.
    let ghost = credential(&pool, &uuid::Uuid::new_v4().to_string());
    assert!(!b.put_credential(&ghost, None).await.unwrap());
    assert_eq!(b.get_credential(&pool, &ghost.user_id).await.unwrap(), None);
    // A federated user may get one (first password), once.
    let fed = user(&pool, &format!("Google_{}", uid()), None, 1_700_000_002);
    b.create_user_with_identity(&fed, &link(&fed, "Google", &uid()))
        .await
        .unwrap();
    let first = credential(&pool, &fed.id);
    assert!(b.put_credential(&first, None).await.unwrap());
    assert_eq!(
        b.get_credential(&pool, &fed.id)
            .await
            .unwrap()
            .unwrap()
            .version,
        1
    );
}

pub async fn concurrent_writers(b: &SharedBackend) {
    let pool = fresh_pool(b).await;
    let u = user(&pool, &format!("erin-{}", uid()), None, 1_700_000_000);
    b.create_native_user(&u, &credential(&pool, &u.id))
        .await
        .unwrap();
    let c = b.get_credential(&pool, &u.id).await.unwrap().unwrap();
    // Eight writers that all read version 1: exactly one wins (a TOTP step used once).
    let mut tasks = Vec::new();
    for step in 0..8u64 {
        let (b, mut c) = (b.clone(), c.clone());
        tasks.push(tokio::spawn(async move {
            c.totp = Some(TotpRecord {
                secret_b32: "JBSWY3DPEHPK3PXP".into(),
                verified: true,
                last_step: Some(step),
                pending_secret_b32: None,
            });
            b.put_credential(&c, Some(1)).await.unwrap()
        }));
    }
    let mut wins = 0;
    for t in tasks {
        if t.await.unwrap() {
            wins += 1;
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(
        b.get_credential(&pool, &u.id)
            .await
            .unwrap()
            .unwrap()
            .version,
        2
    );
}

pub async fn deleted_with_user_and_pool(b: &SharedBackend) {
    let pool = fresh_pool(b).await;
    let u = user(&pool, &format!("frank-{}", uid()), None, 1_700_000_000);
    b.create_native_user(&u, &credential(&pool, &u.id))
        .await
        .unwrap();
    assert!(b.delete_user(&pool, &u.id).await.unwrap());
    assert_eq!(b.get_credential(&pool, &u.id).await.unwrap(), None);
    // The username is free again, and a new user with it starts without the old one's
    // credential.
    let again = user(&pool, &u.username, None, 1_700_000_001);
    assert_eq!(
        b.create_native_user(&again, &credential(&pool, &again.id))
            .await
            .unwrap(),
        CreateNativeOutcome::Created
    );
    assert!(b.delete_pool(&pool).await.unwrap());
    assert_eq!(b.get_credential(&pool, &again.id).await.unwrap(), None);
}
