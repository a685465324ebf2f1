//! Rampart's feed pipeline: rows from security feeds become [`event::Event`]s named as in
//! IntelMQ's harmonisation, are enriched (ASN, country, the responsible constituent),
//! de-duplicated, filtered and routed by rules, and leave as notifications, incidents,
//! files and counters. Everything here works on batches and does no I/O of its own
//! beyond what a caller hands in, so one code path serves the embedded engine and the
//! scale-out workers.

pub mod csv;
pub mod direct;
pub mod engine;
pub mod event;
pub mod experts;
pub mod ip;
mod known_rows;
pub mod mapping;
pub mod memo;
pub mod rules;
pub mod shadowserver;
