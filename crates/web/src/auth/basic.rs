//! HTTP Basic credentials (TAXII clients send them on every request). A verified
//! header is remembered for a few minutes by its SHA-256, never in clear, so a page
//! costs a hash instead of an argon2id verification.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use uuid::Uuid;

const REMEMBER: Duration = Duration::from_secs(300);
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Default)]
pub struct BasicCache {
    verified: Mutex<HashMap<[u8; 32], (Uuid, Instant)>>,
}

impl BasicCache {
    fn key(header: &str) -> [u8; 32] {
        Sha256::digest(header.as_bytes()).into()
    }

    /// The user whose credentials these were, if verified within the last minutes.
    pub fn get(&self, header: &str, now: Instant) -> Option<Uuid> {
        let verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        verified.get(&Self::key(header)).filter(|(_, at)| now.duration_since(*at) < REMEMBER).map(|(user, _)| *user)
    }

    pub fn put(&self, header: &str, user: Uuid, now: Instant) {
        let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if verified.len() >= MAX_ENTRIES {
            verified.retain(|_, (_, at)| now.duration_since(*at) < REMEMBER);
        }
        if verified.len() < MAX_ENTRIES {
            verified.insert(Self::key(header), (user, now));
        }
    }
}

/// `(user, password)` of an `Authorization: Basic …` value.
pub fn decode(value: &str) -> Option<(String, String)> {
    let encoded = value.strip_prefix("Basic ").or_else(|| value.strip_prefix("basic "))?;
    let bytes = data_encoding::BASE64.decode(encoded.trim().as_bytes()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_remembered_briefly_and_by_digest() {
        assert_eq!(decode("Basic YWxpY2U6cyNjcjN0OnBhcnQ="), Some(("alice".into(), "s#cr3t:part".into())));
        assert_eq!(decode("Bearer x"), None);
        let cache = BasicCache::default();
        let now = Instant::now();
        let user = Uuid::from_u128(7);
        cache.put("Basic YWxpY2U6cyNjcjN0", user, now);
        assert_eq!(cache.get("Basic YWxpY2U6cyNjcjN0", now + Duration::from_secs(10)), Some(user));
        assert_eq!(cache.get("Basic YWxpY2U6b3RoZXI=", now), None);
        assert_eq!(cache.get("Basic YWxpY2U6cyNjcjN0", now + REMEMBER), None);
    }
}
