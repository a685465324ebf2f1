use crate::accounts::{new_user, org};
use crate::for_each_backend;
use rampart_core::account::Role;
use rampart_core::audit::ChainError;
use rampart_core::org::OrgType;
use rampart_store::{verify_audit_chain, Actor, Store};

async fn some_history(store: &dyn Store) {
    let cert = org(store, "CERT", OrgType::Cert).await;
    let user = store.create_user(&Actor::Cli, new_user("a@cert.tw", cert.id, vec![Role::Admin])).await.unwrap();
    store.set_locale(&Actor::User(user.id), user.id, Some("en")).await.unwrap();
    store.set_roles(&Actor::Cli, user.id, &[Role::Admin, Role::Analyst]).await.unwrap();
}

#[tokio::test]
async fn every_write_is_chained_with_before_and_after() {
    for_each_backend(|b| async move {
        let store = &*b.store;
        some_history(store).await;
        let entries = store.audit_page(0, 100).await.unwrap();
        let actions: Vec<_> = entries.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["organisation.create", "user.create", "user.locale", "user.roles"]);
        let roles = &entries[3];
        assert!(roles.before.contains("\"admin\"]") && roles.after.contains("analyst"), "{roles:?}");
        assert_eq!(roles.actor, "cli");
        assert!(!entries.iter().any(|e| e.after.contains("argon2")), "no secret reaches the audit log");
        assert_eq!(verify_audit_chain(store).await.unwrap(), Ok(4));
    })
    .await;
}

#[tokio::test]
async fn altering_a_row_is_found() {
    for_each_backend(|b| async move {
        some_history(&*b.store).await;
        b.raw.execute("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2").await;
        assert_eq!(verify_audit_chain(&*b.store).await.unwrap(), Err(ChainError::Altered { seq: 2 }));
    })
    .await;
}

#[tokio::test]
async fn removing_a_row_is_found() {
    for_each_backend(|b| async move {
        some_history(&*b.store).await;
        b.raw.execute("DELETE FROM audit_log WHERE seq = 3").await;
        assert_eq!(verify_audit_chain(&*b.store).await.unwrap(), Err(ChainError::Gap { seq: 4, expected: 3 }));
        // Hiding the gap by renumbering still breaks the link.
        b.raw.execute("UPDATE audit_log SET seq = 3 WHERE seq = 4").await;
        assert_eq!(verify_audit_chain(&*b.store).await.unwrap(), Err(ChainError::BrokenLink { seq: 3 }));
    })
    .await;
}

#[tokio::test]
async fn concurrent_writers_keep_one_chain() {
    for_each_backend(|b| async move {
        let store = b.store.clone();
        let cert = org(&*store, "CERT", OrgType::Cert).await;
        let tasks: Vec<_> = (0..16)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    store.create_user(&Actor::Cli, new_user(&format!("u{i}@cert.tw"), cert.id, vec![Role::Analyst])).await.unwrap()
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(verify_audit_chain(&*store).await.unwrap(), Ok(17));
    })
    .await;
}
