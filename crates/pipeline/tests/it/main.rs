//! Integration tests of rampart-pipeline (one test binary for the crate).

mod memo;
mod shadowserver;
