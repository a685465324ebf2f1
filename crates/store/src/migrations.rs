//! Schema migrations, embedded in the binary, one list per backend. A migration is
//! applied once, in its own transaction, and recorded in `rampart_migrations`.

pub(crate) struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! migrations {
    ($dir:literal: $($version:literal => $name:literal),+ $(,)?) => {
        &[$(Migration { version: $version, name: $name, sql: include_str!(concat!("../migrations/", $dir, "/", $name, ".sql")) }),+]
    };
}

pub(crate) const SQLITE: &[Migration] = migrations!("sqlite": 1 => "0001_foundation", 2 => "0002_incidents", 3 => "0003_work", 4 => "0004_teams", 5 => "0005_constituency", 6 => "0006_feeds", 7 => "0007_feed_queue", 8 => "0008_intel", 9 => "0009_intel_refs");
pub(crate) const POSTGRES: &[Migration] = migrations!("postgres": 1 => "0001_foundation", 2 => "0002_incidents", 3 => "0003_work", 4 => "0004_teams", 5 => "0005_constituency", 6 => "0006_feeds", 7 => "0007_feed_queue", 8 => "0008_intel", 9 => "0009_intel_refs");

pub(crate) const CREATE_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS rampart_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)";

#[cfg(test)]
mod tests {
    #[test]
    fn both_backends_have_the_same_migrations() {
        let names = |m: &[super::Migration]| m.iter().map(|m| (m.version, m.name)).collect::<Vec<_>>();
        assert_eq!(names(super::SQLITE), names(super::POSTGRES));
        for (i, m) in super::SQLITE.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1, "versions are consecutive");
        }
    }
}
