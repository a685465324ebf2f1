use rampart_store::Store;
use std::future::Future;
use std::sync::Arc;

/// A freshly migrated, empty store, and what the test needs to tamper with it directly.
pub struct Backend {
    pub store: Arc<dyn Store>,
    pub raw: Raw,
}

pub enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Raw {
    /// Runs one statement behind the store's back.
    pub async fn execute(&self, sql: &str) {
        match self {
            Raw::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
            Raw::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(|_| ()),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

async fn sqlite(dir: &std::path::Path) -> Backend {
    let path = dir.join("rampart.db");
    let store = rampart_store::sqlite::SqliteStore::open(&path).await.unwrap();
    store_ready(&store).await;
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&path).journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
    let raw = sqlx::SqlitePool::connect_with(options).await.unwrap();
    Backend { store: Arc::new(store), raw: Raw::Sqlite(raw) }
}

/// A database of its own per test, so tests run in parallel without seeing each other.
async fn postgres(url: &str) -> Backend {
    let admin = sqlx::PgPool::connect(url).await.expect("RAMPART_TEST_POSTGRES_URL is reachable");
    let name = format!("rampart_test_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await.unwrap();
    admin.close().await;
    let db_url = match url.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("postgres URL needs a database path"),
    };
    let store = rampart_store::postgres::PgStore::connect(&db_url).await.unwrap();
    store_ready(&store).await;
    let raw = store.pool().clone();
    Backend { store: Arc::new(store), raw: Raw::Postgres(raw) }
}

async fn store_ready(store: &dyn Store) {
    let applied = store.migrate().await.unwrap();
    assert!(!applied.is_empty(), "a new database gets its migrations");
    assert!(store.migrate().await.unwrap().is_empty(), "migrations apply once");
}

/// Runs `test` against every configured backend.
pub async fn for_each_backend<F, Fut>(test: F)
where
    F: Fn(Backend) -> Fut,
    Fut: Future<Output = ()>,
{
    // Owned here, not by the Backend: a test's future may capture only some of its fields.
    let dir = tempfile::tempdir().unwrap();
    test(sqlite(dir.path()).await).await;
    if let Ok(url) = std::env::var("RAMPART_TEST_POSTGRES_URL") {
        test(postgres(&url).await).await;
    }
}
