//! Identifiers: UUIDv7 everywhere inside Rampart, so ids sort by creation time.

pub use uuid::Uuid;

/// A new time-ordered identifier.
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}
