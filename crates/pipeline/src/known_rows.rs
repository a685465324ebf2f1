//! Records met before in a run, by their text.
//!
//! A record whose text is exactly that of an earlier record of the same run is read into the
//! same fields and makes the same event, with the same fingerprint: feeds re-send rows, and a
//! report downloaded twice repeats all of them. [`KnownRows`] keeps, for the records a run
//! wrote directly ([`crate::direct`]), a 64-bit key of the text with the event's fingerprint.
//! A later record with a known key whose fingerprint is still among those seen is a
//! duplicate without being read; otherwise it is read as any other. The keys are seeded per
//! run, so no text can be made ahead of time to meet another's key; by chance, two texts of
//! a run of a million rows share one about once in thirty million runs, as rarely as two
//! events share a fingerprint.

use crate::engine::IdentityHasher;
use crate::experts::DedupeKeys;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

/// How many records a run keeps at most (about 17 MiB); later ones are only read.
pub(crate) const MOST: usize = 1 << 20;

/// Record keys and the fingerprints of their events, for one run.
#[derive(Debug, Clone, Default)]
pub(crate) struct KnownMap(HashMap<u64, u64, BuildHasherDefault<IdentityHasher>>);

impl KnownMap {
    pub(crate) fn get(&self, key: u64) -> Option<u64> {
        self.0.get(&key).copied()
    }

    pub(crate) fn insert(&mut self, key: u64, fingerprint: u64) {
        self.0.insert(key, fingerprint);
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn extend(&mut self, other: KnownMap) {
        let room = MOST.saturating_sub(self.0.len());
        self.0.extend(other.0.into_iter().take(room));
    }

    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }
}

/// What a run's events are made with: the same text makes the same event only with the
/// same parser, routing, de-duplication keys, feed name and observation time. The parser
/// and the routing index are told by address, so a [`crate::engine::Scratch`] kept from
/// one run to another must be told so ([`crate::engine::Scratch::new_run`]); the mark only
/// catches a caller that forgets.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RunMark {
    pub(crate) parser: usize,
    pub(crate) index: usize,
    pub(crate) dedupe: DedupeKeys,
    pub(crate) feed_name: Option<String>,
    pub(crate) observation_time: String,
}

/// The records a run met, kept from one batch to the next.
#[derive(Debug)]
pub(crate) struct KnownRows {
    map: KnownMap,
    seeds: Seeds,
    run: Option<RunMark>,
}

impl Default for KnownRows {
    fn default() -> Self {
        KnownRows { map: KnownMap::default(), seeds: Seeds::random(), run: None }
    }
}

impl KnownRows {
    /// Forgets every record, for another run.
    pub(crate) fn forget(&mut self) {
        self.map.clear();
        self.seeds = Seeds::random();
        self.run = None;
    }

    /// Readies the records for a batch of `run`: those of another run are forgotten.
    pub(crate) fn start(&mut self, run: RunMark) {
        if self.run.as_ref() != Some(&run) {
            self.forget();
            self.run = Some(run);
        }
    }

    /// For a piece that runs alone: it adds to the run's records as it goes.
    pub(crate) fn alone(&mut self) -> Known<'_> {
        Known::Owned { seeds: self.seeds, map: &mut self.map }
    }

    /// For a piece that runs beside others: it reads the run's records and keeps its own.
    pub(crate) fn beside(&self) -> Known<'_> {
        Known::Shared { seeds: self.seeds, before: &self.map, own: KnownMap::default() }
    }

    /// Takes in what pieces that ran beside each other met.
    pub(crate) fn take_in(&mut self, own: KnownMap) {
        self.map.extend(own);
    }
}

/// A piece's view of its run's records, as [`crate::engine`]'s of fingerprints.
pub(crate) enum Known<'k> {
    Owned { seeds: Seeds, map: &'k mut KnownMap },
    Shared { seeds: Seeds, before: &'k KnownMap, own: KnownMap },
}

impl Known<'_> {
    #[inline]
    pub(crate) fn key(&self, text: &str) -> u64 {
        match self {
            Known::Owned { seeds, .. } | Known::Shared { seeds, .. } => seeds.key(text),
        }
    }

    /// The fingerprint of the event an earlier record with this key made.
    #[inline]
    pub(crate) fn get(&self, key: u64) -> Option<u64> {
        match self {
            Known::Owned { map, .. } => map.get(key),
            Known::Shared { before, own, .. } => own.get(key).or_else(|| before.get(key)),
        }
    }

    #[inline]
    pub(crate) fn insert(&mut self, key: u64, fingerprint: u64) {
        match self {
            Known::Owned { map, .. } if map.len() < MOST => map.insert(key, fingerprint),
            Known::Shared { before, own, .. } if before.len() + own.len() < MOST => own.insert(key, fingerprint),
            _ => {}
        }
    }

    /// What a piece beside others met, for [`KnownRows::take_in`].
    pub(crate) fn into_own(self) -> Option<KnownMap> {
        match self {
            Known::Owned { .. } => None,
            Known::Shared { own, .. } => Some(own),
        }
    }
}

/// The seeds of a run's keys.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seeds([u64; 4]);

impl Seeds {
    /// Fresh seeds, from the standard library's per-process random keys.
    pub(crate) fn random() -> Seeds {
        use std::hash::BuildHasher;
        let state = std::collections::hash_map::RandomState::new();
        Seeds(std::array::from_fn(|i| state.hash_one(i as u64) | 1))
    }

    /// The key of a record's text: 16 bytes per folded multiply.
    #[inline]
    pub(crate) fn key(&self, text: &str) -> u64 {
        let [s0, s1, s2, s3] = self.0;
        let bytes = text.as_bytes();
        let len = bytes.len();
        let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        let mut h = s0 ^ len as u64;
        let mut at = 0;
        while at + 16 <= len {
            h = fold(word(at) ^ s1, word(at + 8) ^ h ^ s2);
            at += 16;
        }
        let rest = &bytes[at..];
        let (a, b) = match rest.len() {
            0 => (0, 0),
            1..=7 => (crate::experts::tail_word(rest), 0),
            // Two loads that may overlap: the same bytes in both.
            n => (word(at), word(at + n - 8)),
        };
        fold(a ^ s1 ^ h, b ^ s3 ^ (rest.len() as u64).rotate_left(32))
    }
}

/// The two halves of a full 64 × 64-bit product, folded into one word.
#[inline(always)]
fn fold(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    #[test]
    fn keys_tell_apart_texts_that_differ_anywhere() {
        let seeds = Seeds::random();
        let base = "\"2026-11-29 00:00:00\",\"117.147.36.12\",\"udp\",53,,\"openresolver\"";
        let mut keys = HashSet::new();
        keys.insert(seeds.key(base));
        // Each byte changed, and each length cut: every text its own key.
        for at in 0..base.len() {
            let mut text = base.as_bytes().to_vec();
            text[at] ^= 1;
            assert!(keys.insert(seeds.key(std::str::from_utf8(&text).unwrap())), "byte {at}");
            assert!(keys.insert(seeds.key(&base[..at])), "first {at} bytes");
        }
        // A zero byte more is another text.
        assert_ne!(seeds.key("abc"), seeds.key("abc\0"));
    }

    #[test]
    fn a_full_map_takes_no_more() {
        let mut map = KnownMap::default();
        let mut other = KnownMap::default();
        for i in 0..10 {
            other.insert(i, i);
        }
        map.0.reserve(MOST);
        for i in 0..MOST as u64 - 4 {
            map.insert(i + 100, i);
        }
        map.extend(other);
        assert_eq!(map.len(), MOST);
    }

    proptest! {
        #[test]
        fn equal_texts_have_equal_keys_and_others_almost_never(a in "[a-c,\"]{0,40}", b in "[a-c,\"]{0,40}") {
            let seeds = Seeds::random();
            prop_assert_eq!(seeds.key(&a) == seeds.key(&b), a == b);
        }
    }
}
