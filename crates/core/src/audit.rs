//! The audit chain: every write leaves an entry carrying the SHA-256 of the entry
//! before it, so altering or removing a stored entry breaks the chain visibly.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The hash the first entry links to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Position in the chain, from 1, without gaps.
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// `user:<uuid>`, `cli`, or `system`.
    pub actor: String,
    /// e.g. `organisation.create`, `user.password_change`.
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    /// JSON of the object before and after the change (`null` when none); never secrets.
    pub before: String,
    pub after: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The SHA-256 over an entry's content and its predecessor's hash. Fields are
/// length-prefixed so that no two different entries serialise alike.
#[allow(clippy::too_many_arguments)]
pub fn entry_hash(
    seq: i64,
    at: DateTime<Utc>,
    actor: &str,
    action: &str,
    object_type: &str,
    object_id: &str,
    before: &str,
    after: &str,
    prev_hash: &str,
) -> String {
    let mut h = Sha256::new();
    let at = at.to_rfc3339_opts(SecondsFormat::Micros, true);
    for field in [seq.to_string().as_str(), &at, actor, action, object_type, object_id, before, after, prev_hash] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    crate::credentials::hex(&h.finalize())
}

impl AuditEntry {
    pub fn expected_hash(&self) -> String {
        entry_hash(
            self.seq,
            self.at,
            &self.actor,
            &self.action,
            &self.object_type,
            &self.object_id,
            &self.before,
            &self.after,
            &self.prev_hash,
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("audit entry {seq}: expected sequence number {expected} (an entry is missing)")]
    Gap { seq: i64, expected: i64 },
    #[error("audit entry {seq}: does not link to the entry before it (an entry was altered or removed)")]
    BrokenLink { seq: i64 },
    #[error("audit entry {seq}: its content does not match its hash (the entry was altered)")]
    Altered { seq: i64 },
}

impl ChainError {
    pub fn seq(&self) -> i64 {
        match self {
            ChainError::Gap { seq, .. } | ChainError::BrokenLink { seq } | ChainError::Altered { seq } => *seq,
        }
    }
}

/// Checks entries one at a time, in chain order, so a long chain can be verified
/// page by page without holding it in memory.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    prev_hash: String,
    next_seq: i64,
    count: u64,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self { prev_hash: GENESIS_HASH.to_string(), next_seq: 1, count: 0 }
    }
}

impl ChainVerifier {
    pub fn check(&mut self, entry: &AuditEntry) -> Result<(), ChainError> {
        if entry.seq != self.next_seq {
            return Err(ChainError::Gap { seq: entry.seq, expected: self.next_seq });
        }
        if entry.prev_hash != self.prev_hash {
            return Err(ChainError::BrokenLink { seq: entry.seq });
        }
        if entry.expected_hash() != entry.hash {
            return Err(ChainError::Altered { seq: entry.seq });
        }
        self.prev_hash.clone_from(&entry.hash);
        self.next_seq += 1;
        self.count += 1;
        Ok(())
    }

    /// Entries verified so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The sequence number of the last verified entry (0 before the first).
    pub fn last_seq(&self) -> i64 {
        self.next_seq - 1
    }
}

/// Walks a whole chain in order; `Ok(n)` is the number of entries verified.
pub fn verify_chain<'a>(entries: impl IntoIterator<Item = &'a AuditEntry>) -> Result<u64, ChainError> {
    let mut verifier = ChainVerifier::default();
    for entry in entries {
        verifier.check(entry)?;
    }
    Ok(verifier.count())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS_HASH.to_string();
        (1..=n)
            .map(|seq| {
                let at = DateTime::from_timestamp(1_700_000_000 + seq, 0).unwrap();
                let after = format!("{{\"n\":{seq}}}");
                let hash = entry_hash(seq, at, "cli", "thing.create", "thing", "id", "null", &after, &prev);
                let e = AuditEntry {
                    seq,
                    at,
                    actor: "cli".into(),
                    action: "thing.create".into(),
                    object_type: "thing".into(),
                    object_id: "id".into(),
                    before: "null".into(),
                    after,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                e
            })
            .collect()
    }

    #[test]
    fn intact_chain_verifies() {
        assert_eq!(verify_chain(&chain(5)), Ok(5));
        assert_eq!(verify_chain(&[]), Ok(0));
    }

    #[test]
    fn tampering_is_found_at_the_first_bad_entry() {
        let mut altered = chain(5);
        altered[2].after = "{\"n\":999}".into();
        assert_eq!(verify_chain(&altered), Err(ChainError::Altered { seq: 3 }));

        let mut removed = chain(5);
        removed.remove(1);
        assert_eq!(verify_chain(&removed), Err(ChainError::Gap { seq: 3, expected: 2 }));

        // Removing an entry and renumbering the rest still breaks the links.
        let mut renumbered = chain(5);
        renumbered.remove(1);
        for (i, e) in renumbered.iter_mut().enumerate() {
            e.seq = i as i64 + 1;
        }
        assert_eq!(verify_chain(&renumbered), Err(ChainError::BrokenLink { seq: 2 }));
    }

    #[test]
    fn fields_cannot_shift_between_each_other() {
        let at = DateTime::from_timestamp(0, 0).unwrap();
        assert_ne!(entry_hash(1, at, "ab", "c", "", "", "", "", ""), entry_hash(1, at, "a", "bc", "", "", "", "", ""));
    }
}
