//! End-to-end tests of the `rampart` binary: each test starts the real server on
//! `127.0.0.1:0` (SQLite, and PostgreSQL when `RAMPART_TEST_POSTGRES_URL` is set)
//! and talks HTTP to it, or runs its CLI commands.

mod api;
mod bad_input;
mod cli;
mod constituency;
mod correspondence;
mod feed_queue;
mod feeds;
mod feeds_http;
mod feeds_ui;
mod harness;
mod http;
mod incidents;
mod intel_match;
mod intel_ui;
mod mailgate;
mod misp_feed;
mod notifications;
mod pgp_keys;
mod registry_ui;
mod report_form;
mod smtp;
mod taxii;
mod taxii_pull;
mod ui;
mod work;
