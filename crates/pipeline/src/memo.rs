//! What a column's value became, remembered for the rows after it.
//!
//! A feed repeats itself column by column: the protocol, the port, the tag, the country, the
//! region, the sector come back row after row. Converting such a value again, writing its JSON
//! member and hashing it for the fingerprint gives what it gave the row before. A [`RowMemo`]
//! keeps, per mapping step, each value it met with what it became, as a [`Rendered`] field when
//! it set one; a row then takes that in place of the work. Steps whose values rarely repeat
//! (addresses, host names) stop asking after a few dozen rows.
//!
//! The outcome of a step must depend on the value alone: a parser only remembers steps that
//! do not look at other columns.
//!
//! What a piece remembered stays in its [`MemoArena`] for the next piece of the same parser
//! (the batches of a run come one after another): relearning a report's few hundred values
//! at every batch cost about 2 % of the engine.

use crate::event::Rendered;
use crate::experts::tail_word;
use std::cell::{Cell, OnceCell};

/// What one step made of one value.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The converter made nothing of it (IntelMQ's `None`).
    Nothing,
    /// Taken, and nothing set: an ignored value or an empty `extra.*` one.
    Taken,
    /// Taken, and this field set.
    Set(Rendered),
    /// The field's type refused the converted value.
    Refused,
}

#[derive(Debug)]
struct Entry {
    value: Box<str>,
    outcome: Outcome,
}

/// The room a [`RowMemo`] keeps its outcomes in: a fixed number of them, so input with ever
/// new values costs bounded memory. Kept from batch to batch, with the places each step's
/// values were found at.
pub struct MemoArena {
    entries: Box<[OnceCell<Entry>]>,
    used: Cell<usize>,
    /// Each step's places and judgement, handed from one piece's [`RowMemo`] to the next.
    steps: Cell<Vec<StepMemo>>,
    /// The parser whose steps the outcomes are of.
    maker: usize,
}

/// How many outcomes an arena may hold in all.
const ARENA_ENTRIES: usize = 2048;

/// An arena fuller than this at the start of a piece is emptied, so that values a feed
/// turns to later still find room.
const REFILL_AT: usize = ARENA_ENTRIES * 3 / 4;

impl Default for MemoArena {
    fn default() -> Self {
        MemoArena { entries: (0..ARENA_ENTRIES).map(|_| OnceCell::new()).collect(), used: Cell::new(0), steps: Cell::default(), maker: 0 }
    }
}

impl std::fmt::Debug for MemoArena {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoArena").field("used", &self.used.get()).field("maker", &self.maker).finish_non_exhaustive()
    }
}

impl MemoArena {
    /// Forgets everything.
    pub fn clear(&mut self) {
        for entry in &mut self.entries[..self.used.get()] {
            entry.take();
        }
        self.used.set(0);
        self.steps.get_mut().clear();
    }

    /// Readies the arena for a piece read by the parser `maker` (told by address, as
    /// [`crate::known_rows::RunMark`] tells it): what another parser's steps made is
    /// forgotten, and so is everything when the arena is nearly full.
    pub fn ready_for(&mut self, maker: usize) {
        if self.maker != maker || self.used.get() > REFILL_AT {
            self.clear();
            self.maker = maker;
        }
    }

    fn has_room(&self) -> bool {
        self.used.get() < self.entries.len()
    }

    /// Keeps `entry`, and tells where; `None` when there is no room left.
    fn keep(&self, entry: Entry) -> Option<(u32, &Entry)> {
        let at = self.used.get();
        let cell = self.entries.get(at)?;
        self.used.set(at + 1);
        Some((at as u32, cell.get_or_init(|| entry)))
    }

    /// The outcome `place` holds when it holds `value` (whose key is `key`).
    #[inline(always)]
    fn found(&self, place: &Place, key: &Key, value: &str) -> Option<&Outcome> {
        if place.key != *key {
            return None;
        }
        // `None` for [`NO_ENTRY`].
        let entry = self.entries.get(place.entry as usize).and_then(OnceCell::get)?;
        (key.len <= 16 || *entry.value == *value).then_some(&entry.outcome)
    }
}

/// After this many lookups a step is judged, and again after every window of as many:
/// it stays only while at least three in four of its values were found. In the first
/// window every value is new once, so there half will do: a column of a few dozen values
/// (a city, a software version) misses a quarter of its first rows, and a step turned off
/// stays off until its arena is emptied (the rest of the run, mostly).
const WINDOW: u32 = 64;

/// Remembered values per step: a table of pairs of places, the pair chosen by a hash of the
/// value; a newer value takes the first place of its pair and moves the one there to the
/// second. Two places a pair, so that two values of a column of a few dozen that share a
/// pair (as a table of one place each let a report's two commonest cities, row after row)
/// do not take it from each other; roomy, so that three seldom meet.
const PAIRS: usize = 128;

/// A value as two words and its length: values of up to 16 bytes compare without a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Key {
    len: usize,
    low: u64,
    high: u64,
}

impl Key {
    #[inline]
    fn of(value: &str) -> Key {
        let bytes = value.as_bytes();
        let len = bytes.len();
        let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        let (low, high) = match len {
            0..=8 => (tail_word(bytes), 0),
            // The last eight bytes overlap the first eight for lengths under 16.
            _ => (word(0), word(len - 8)),
        };
        Key { len, low, high }
    }

    #[inline]
    fn pair(&self) -> usize {
        let mixed = (self.low ^ self.high.rotate_left(23) ^ self.len as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (mixed >> (64 - PAIRS.trailing_zeros())) as usize
    }
}

/// Where no entry is: past the end of every arena.
const NO_ENTRY: u32 = u32::MAX;

/// A value's key and where its entry is in the arena (which holds the whole value, for
/// values the key does not hold whole).
#[derive(Debug, Clone, Copy)]
struct Place {
    key: Key,
    entry: u32,
}

impl Default for Place {
    fn default() -> Self {
        Place { key: Key::default(), entry: NO_ENTRY }
    }
}

/// Two places, on one cache line.
#[derive(Debug, Clone, Copy, Default)]
#[repr(align(64))]
struct Pair([Place; 2]);

#[derive(Debug, Default)]
struct StepMemo {
    /// Allocated when the step first remembers a value.
    pairs: Option<Box<[Pair; PAIRS]>>,
    lookups: u32,
    hits: u32,
    off: bool,
    /// A window was judged before.
    judged: bool,
}

/// One piece's remembered outcomes, per step of the parser's choosing (a small index).
/// Starts from what the pieces before it in its arena remembered (and which steps they
/// stopped asking), and leaves the next piece what it remembered when dropped.
pub struct RowMemo<'a> {
    arena: &'a MemoArena,
    steps: Vec<StepMemo>,
}

impl Drop for RowMemo<'_> {
    fn drop(&mut self) {
        self.arena.steps.set(std::mem::take(&mut self.steps));
    }
}

/// What a lookup says.
pub(crate) enum Lookup<'a> {
    /// The value's outcome, from an earlier row.
    Found(&'a Outcome),
    /// Not known yet: work it out and [`RowMemo::remember`] it.
    Unknown,
    /// This step's values rarely repeat: work it out and do not remember it.
    Off,
}

impl<'a> RowMemo<'a> {
    pub fn new(arena: &'a MemoArena) -> RowMemo<'a> {
        RowMemo { arena, steps: arena.steps.take() }
    }

    #[inline]
    fn step(&mut self, step: usize) -> &mut StepMemo {
        if step >= self.steps.len() {
            self.grow(step);
        }
        &mut self.steps[step]
    }

    #[cold]
    fn grow(&mut self, step: usize) {
        self.steps.resize_with(step + 1, StepMemo::default);
    }

    // Always inlined: called for most columns of every row, the call's saving and restoring
    // of registers cost more than a third of the lookup (under callgrind, 2.7 % of the engine).
    #[inline(always)]
    pub(crate) fn lookup(&mut self, step: usize, value: &str) -> Lookup<'a> {
        let arena = self.arena;
        let has_room = arena.has_room();
        let memo = self.step(step);
        if memo.off {
            return Lookup::Off;
        }
        let key = Key::of(value);
        let found = match &memo.pairs {
            Some(pairs) => {
                let Pair([first, second]) = &pairs[key.pair()];
                arena.found(first, &key, value).or_else(|| arena.found(second, &key, value))
            }
            None => None,
        };
        memo.lookups += 1;
        memo.hits += u32::from(found.is_some());
        if memo.lookups == WINDOW {
            // Fewer than three in four found (half, the first time): the work of remembering
            // does not pay.
            let needed = if memo.judged { WINDOW * 3 / 4 } else { WINDOW / 2 };
            memo.off = memo.hits < needed;
            memo.judged = true;
            memo.lookups = 0;
            memo.hits = 0;
        }
        match found {
            Some(outcome) => Lookup::Found(outcome),
            None if has_room => Lookup::Unknown,
            None => Lookup::Off,
        }
    }

    /// Keeps `outcome` for `value` at `step` and hands it back; `None` when there is no room
    /// (which [`RowMemo::lookup`] said before with [`Lookup::Off`]).
    pub(crate) fn remember(&mut self, step: usize, value: &str, outcome: Outcome) -> Option<&'a Outcome> {
        let arena = self.arena;
        let (at, entry) = arena.keep(Entry { value: value.into(), outcome })?;
        let key = Key::of(value);
        let memo = self.step(step);
        let Pair(pair) = &mut memo.pairs.get_or_insert_with(|| Box::new([Pair::default(); PAIRS]))[key.pair()];
        *pair = [Place { key, entry: at }, pair[0]];
        Some(&entry.outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{FieldId, Kind};
    use proptest::prelude::*;

    fn set(text: &str) -> Outcome {
        Outcome::Set(Rendered::new(FieldId::intern("extra.memo_test").unwrap(), Kind::Text, text))
    }

    fn found_text(lookup: Lookup<'_>) -> Option<String> {
        match lookup {
            Lookup::Found(Outcome::Set(rendered)) => Some(rendered.text().to_string()),
            Lookup::Found(other) => Some(format!("{other:?}")),
            Lookup::Unknown | Lookup::Off => None,
        }
    }

    proptest! {
        /// Values the key holds whole (up to 16 bytes) are equal exactly when their keys are.
        #[test]
        fn short_values_have_keys_of_their_own(a in "[a\\x00b]{0,17}", b in "[a\\x00b]{0,17}") {
            let (ka, kb) = (Key::of(&a), Key::of(&b));
            if a.len() <= 16 && b.len() <= 16 {
                prop_assert_eq!(ka == kb, a == b);
            } else if a == b {
                prop_assert!(ka == kb);
            }
        }
    }

    #[test]
    fn a_value_is_found_once_remembered_and_a_longer_one_is_compared_whole() {
        let arena = MemoArena::default();
        let mut memo = RowMemo::new(&arena);
        assert!(matches!(memo.lookup(3, "udp"), Lookup::Unknown));
        memo.remember(3, "udp", set("udp!")).unwrap();
        assert_eq!(found_text(memo.lookup(3, "udp")).as_deref(), Some("udp!"));
        // Another step knows nothing of it.
        assert!(matches!(memo.lookup(0, "udp"), Lookup::Unknown));
        // Same length, same first and last eight bytes, different middle.
        let (long, other) = ("aaaaaaaa-one-bbbbbbbb", "aaaaaaaa-two-bbbbbbbb");
        memo.remember(3, long, set("long")).unwrap();
        assert_eq!(found_text(memo.lookup(3, long)).as_deref(), Some("long"));
        assert_eq!(found_text(memo.lookup(3, other)), None);
        memo.remember(3, "refused", Outcome::Refused).unwrap();
        assert_eq!(found_text(memo.lookup(3, "refused")).as_deref(), Some("Refused"));
    }

    #[test]
    fn a_step_whose_values_rarely_repeat_stops_asking() {
        let arena = MemoArena::default();
        let mut memo = RowMemo::new(&arena);
        for i in 0..WINDOW {
            let value = format!("value {i}");
            if let Lookup::Unknown = memo.lookup(0, &value) {
                memo.remember(0, &value, set(&value)).unwrap();
            }
        }
        assert!(matches!(memo.lookup(0, "value 1"), Lookup::Off));
        // A step whose values do repeat stays.
        for _ in 0..3 * WINDOW {
            if let Lookup::Unknown = memo.lookup(1, "same") {
                memo.remember(1, "same", set("same")).unwrap();
            }
        }
        assert!(matches!(memo.lookup(1, "same"), Lookup::Found(_)));
    }

    #[test]
    fn a_column_of_a_few_dozen_values_stays_remembered() {
        // Its first window misses each value once: more than a quarter of it, less than half.
        let arena = MemoArena::default();
        let mut memo = RowMemo::new(&arena);
        let values: Vec<String> = (0..24).map(|i| format!("city {i}")).collect();
        let mut found = 0;
        for round in 0..10 * WINDOW as usize {
            let value = &values[round % values.len()];
            match memo.lookup(0, value) {
                Lookup::Found(_) => found += 1,
                Lookup::Unknown => {
                    memo.remember(0, value, set(value)).unwrap();
                }
                Lookup::Off => panic!("turned off after {round} lookups"),
            }
        }
        // Each value missed once, or twice if it shared a place with another.
        assert!(found >= 10 * WINDOW as usize - 2 * values.len(), "{found} found");
    }

    #[test]
    fn a_full_arena_remembers_no_more_and_clearing_it_makes_room() {
        let mut arena = MemoArena::default();
        {
            let mut memo = RowMemo::new(&arena);
            // One value per step: no step is judged before the arena is full.
            for step in 0..ARENA_ENTRIES {
                assert!(matches!(memo.lookup(step, "v"), Lookup::Unknown));
                memo.remember(step, "v", set("v")).unwrap();
            }
            assert!(matches!(memo.lookup(ARENA_ENTRIES, "v"), Lookup::Off));
            assert!(memo.remember(ARENA_ENTRIES, "v", set("v")).is_none());
            assert!(matches!(memo.lookup(0, "v"), Lookup::Found(_)));
        }
        arena.clear();
        let mut memo = RowMemo::new(&arena);
        assert!(matches!(memo.lookup(0, "v"), Lookup::Unknown));
        assert!(memo.remember(0, "v", set("v")).is_some());
    }

    #[test]
    fn two_values_that_share_a_pair_are_both_kept() {
        // Two city names of the same pair, as a report's two commonest once were.
        let first = "city 0".to_string();
        let pair = Key::of(&first).pair();
        let second = (1..).map(|i| format!("city {i}")).find(|v| Key::of(v).pair() == pair).unwrap();
        let arena = MemoArena::default();
        let mut memo = RowMemo::new(&arena);
        for value in [&first, &second] {
            assert!(matches!(memo.lookup(0, value), Lookup::Unknown));
            memo.remember(0, value, set(value)).unwrap();
        }
        for _ in 0..3 {
            assert_eq!(found_text(memo.lookup(0, &first)).as_deref(), Some(first.as_str()));
            assert_eq!(found_text(memo.lookup(0, &second)).as_deref(), Some(second.as_str()));
        }
        // A third takes the first place and the older of the two is forgotten.
        let third = (second[5..].parse::<usize>().unwrap() + 1..).map(|i| format!("city {i}")).find(|v| Key::of(v).pair() == pair).unwrap();
        memo.remember(0, &third, set(&third)).unwrap();
        assert_eq!(found_text(memo.lookup(0, &third)).as_deref(), Some(third.as_str()));
        assert_eq!(found_text(memo.lookup(0, &second)).as_deref(), Some(second.as_str()));
        assert!(matches!(memo.lookup(0, &first), Lookup::Unknown));
    }

    #[test]
    fn the_next_piece_of_the_same_parser_finds_what_the_last_one_remembered() {
        let mut arena = MemoArena::default();
        arena.ready_for(1);
        {
            let mut memo = RowMemo::new(&arena);
            assert!(matches!(memo.lookup(2, "udp"), Lookup::Unknown));
            memo.remember(2, "udp", set("udp!")).unwrap();
            // A step whose values never repeat is turned off.
            for i in 0..WINDOW {
                let value = format!("unique {i}");
                if let Lookup::Unknown = memo.lookup(0, &value) {
                    memo.remember(0, &value, set(&value)).unwrap();
                }
            }
            assert!(matches!(memo.lookup(0, "unique 1"), Lookup::Off));
        }
        arena.ready_for(1);
        {
            let mut memo = RowMemo::new(&arena);
            assert_eq!(found_text(memo.lookup(2, "udp")).as_deref(), Some("udp!"));
            // And the step stays off.
            assert!(matches!(memo.lookup(0, "unique 1"), Lookup::Off));
        }
        // Another parser's steps are others: nothing is found.
        arena.ready_for(2);
        let mut memo = RowMemo::new(&arena);
        assert!(matches!(memo.lookup(2, "udp"), Lookup::Unknown));
        assert!(matches!(memo.lookup(0, "unique 1"), Lookup::Unknown));
    }

    #[test]
    fn a_nearly_full_arena_is_emptied_for_the_next_piece() {
        let mut arena = MemoArena::default();
        arena.ready_for(1);
        {
            let mut memo = RowMemo::new(&arena);
            // One value per step, so that no step is judged.
            for step in 0..=REFILL_AT {
                memo.remember(step, "v", set("v")).unwrap();
            }
        }
        arena.ready_for(1);
        let mut memo = RowMemo::new(&arena);
        assert!(matches!(memo.lookup(0, "v"), Lookup::Unknown));
        assert!(arena.has_room());
    }
}
