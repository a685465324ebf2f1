use crate::for_each_backend;
use chrono::{Duration, Utc};
use rampart_core::account::{Role, TokenScope};
use rampart_core::org::{NewOrganisation, OrgType};
use rampart_store::{Actor, NewApiToken, NewSession, NewUser, Store, StoreError};

pub async fn org(store: &dyn Store, name: &str, org_type: OrgType) -> rampart_core::org::Organisation {
    let new = NewOrganisation { name: name.into(), org_type, sector: None, country: "TW".into(), parent_id: None };
    store.create_org(&Actor::Cli, new).await.unwrap()
}

pub fn new_user(email: &str, org_id: uuid::Uuid, roles: Vec<Role>) -> NewUser {
    NewUser { email: email.into(), display_name: "Test".into(), org_id, roles, password_hash: Some("$argon2id$fake".into()), locale: None }
}

#[tokio::test]
async fn organisations_are_unique_by_name_and_keep_their_fields() {
    for_each_backend(|b| async move {
        let store = &*b.store;
        let cert = org(store, "TWCERT", OrgType::Cert).await;
        let child = NewOrganisation {
            name: "Taipower".into(),
            org_type: OrgType::CriticalInfrastructure,
            sector: Some("tw-ci.energy".into()),
            country: "tw".into(),
            parent_id: Some(cert.id),
        };
        let child = store.create_org(&Actor::Cli, child).await.unwrap();
        assert_eq!(child.country, "TW");
        assert_eq!(store.get_org(child.id).await.unwrap().unwrap(), child);
        assert_eq!(store.find_org_by_name("taipower").await.unwrap().unwrap().id, child.id);
        let dup = NewOrganisation { name: "twcert".into(), org_type: OrgType::Cert, sector: None, country: "TW".into(), parent_id: None };
        assert!(matches!(store.create_org(&Actor::Cli, dup).await, Err(StoreError::Conflict(_))));
        let bad_parent = NewOrganisation {
            name: "Orphan".into(),
            org_type: OrgType::Vendor,
            sector: None,
            country: "TW".into(),
            parent_id: Some(uuid::Uuid::now_v7()),
        };
        assert!(matches!(store.create_org(&Actor::Cli, bad_parent).await, Err(StoreError::Invalid(_))));
        let names: Vec<_> = store.list_orgs().await.unwrap().into_iter().map(|o| o.name).collect();
        assert_eq!(names, ["Taipower", "TWCERT"]);
    })
    .await;
}

#[tokio::test]
async fn users_roles_locale_and_lockout() {
    for_each_backend(|b| async move {
        let store = &*b.store;
        let cert = org(store, "CERT", OrgType::Cert).await;
        let user = store.create_user(&Actor::Cli, new_user("ana@cert.tw", cert.id, vec![Role::Analyst])).await.unwrap();
        assert_eq!(store.count_users().await.unwrap(), 1);
        assert!(matches!(
            store.create_user(&Actor::Cli, new_user("ana@cert.tw", cert.id, vec![Role::Admin])).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(store.find_user_by_email(" ANA@cert.tw").await.unwrap().unwrap().id, user.id);

        let updated = store.set_roles(&Actor::Cli, user.id, &[Role::Analyst, Role::Coordinator]).await.unwrap();
        assert_eq!(updated.roles, [Role::Analyst, Role::Coordinator]);
        store.set_locale(&Actor::User(user.id), user.id, Some("zh-TW")).await.unwrap();
        assert_eq!(store.get_user(user.id).await.unwrap().unwrap().locale.as_deref(), Some("zh-TW"));

        for _ in 0..2 {
            let u = store.record_login_failure(user.id, 3, Duration::minutes(15)).await.unwrap();
            assert!(!u.is_locked(Utc::now()));
        }
        let locked = store.record_login_failure(user.id, 3, Duration::minutes(15)).await.unwrap();
        assert!(locked.is_locked(Utc::now()), "third failure locks");
        store.set_password(&Actor::Cli, user.id, "$argon2id$new").await.unwrap();
        let after = store.get_user(user.id).await.unwrap().unwrap();
        assert!(!after.is_locked(Utc::now()), "a password reset unlocks");
        assert_eq!(store.user_secrets(user.id).await.unwrap().password_hash.as_deref(), Some("$argon2id$new"));
    })
    .await;
}

#[tokio::test]
async fn totp_enrolment_and_single_use_steps() {
    for_each_backend(|b| async move {
        let store = &*b.store;
        let cert = org(store, "CERT", OrgType::Cert).await;
        let user = store.create_user(&Actor::Cli, new_user("a@cert.tw", cert.id, vec![Role::Admin])).await.unwrap();
        assert!(matches!(store.enable_totp(&Actor::Cli, user.id, 5).await, Err(StoreError::Invalid(_))), "nothing pending");
        store.set_totp_pending(&Actor::User(user.id), user.id, "SECRET").await.unwrap();
        assert!(!store.get_user(user.id).await.unwrap().unwrap().totp_enabled);
        store.enable_totp(&Actor::User(user.id), user.id, 100).await.unwrap();
        let secrets = store.user_secrets(user.id).await.unwrap();
        assert_eq!((secrets.totp_secret.as_deref(), secrets.totp_pending_secret), (Some("SECRET"), None));
        assert!(store.get_user(user.id).await.unwrap().unwrap().totp_enabled);
        assert!(!store.consume_totp_step(user.id, 100).await.unwrap(), "the enrolment code cannot be replayed");
        assert!(store.consume_totp_step(user.id, 101).await.unwrap());
        assert!(!store.consume_totp_step(user.id, 101).await.unwrap());
    })
    .await;
}

#[tokio::test]
async fn sessions_tokens_and_setup_links() {
    for_each_backend(|b| async move {
        let store = &*b.store;
        let cert = org(store, "CERT", OrgType::Cert).await;
        let now = Utc::now();

        store.replace_setup_token("old", now + Duration::hours(1)).await.unwrap();
        store.replace_setup_token("digest", now + Duration::hours(1)).await.unwrap();
        assert!(!store.setup_token_valid("old", now).await.unwrap(), "a new link replaces the old");
        assert!(store.setup_token_valid("digest", now).await.unwrap());
        assert!(!store.setup_token_valid("digest", now + Duration::hours(2)).await.unwrap(), "expired");
        let admin = store.complete_setup("digest", now, new_user("admin@cert.tw", cert.id, vec![Role::Admin])).await.unwrap();
        assert!(
            matches!(
                store.complete_setup("digest", now, new_user("b@cert.tw", cert.id, vec![Role::Admin])).await,
                Err(StoreError::Invalid(_))
            ),
            "single use"
        );

        let session = NewSession {
            id_digest: "s1".into(),
            user_id: admin.id,
            csrf_token: "c".into(),
            second_factor_done: false,
            expires_at: now + Duration::hours(1),
        };
        store.create_session(session).await.unwrap();
        let got = store.get_session("s1").await.unwrap().unwrap();
        assert!(!got.second_factor_done && got.user_id == admin.id);
        store.complete_second_factor("s1").await.unwrap();
        assert!(store.get_session("s1").await.unwrap().unwrap().second_factor_done);
        store.set_password(&Actor::Cli, admin.id, "$argon2id$x").await.unwrap();
        assert!(store.get_session("s1").await.unwrap().is_none(), "a password change ends sessions");

        let token = NewApiToken {
            user_id: admin.id,
            name: "ci".into(),
            digest: "tok".into(),
            scopes: vec![TokenScope::Read],
            expires_at: Some(now + Duration::days(1)),
        };
        let token = store.create_api_token(&Actor::Cli, token).await.unwrap();
        let found = store.find_api_token("tok").await.unwrap().unwrap();
        assert!(found.usable_at(now) && !found.usable_at(now + Duration::days(2)));
        store.revoke_api_token(&Actor::User(admin.id), token.id).await.unwrap();
        assert!(!store.find_api_token("tok").await.unwrap().unwrap().usable_at(now));
        assert_eq!(store.list_api_tokens(admin.id).await.unwrap().len(), 1);
    })
    .await;
}
