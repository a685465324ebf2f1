//! Integration tests of rampart-pipeline (one test binary for the crate).

mod direct;
mod known;
mod memo;
mod samples;
mod shadowserver;
mod stream;
