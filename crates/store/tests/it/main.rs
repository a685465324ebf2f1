//! The store conformance suite: every test runs against SQLite, and against
//! PostgreSQL when `RAMPART_TEST_POSTGRES_URL` is set.

mod accounts;
mod audit;
mod backends;

pub use backends::{for_each_backend, Backend};
mod feeds;
mod incidents;
mod intel;
mod registry;
mod work;
