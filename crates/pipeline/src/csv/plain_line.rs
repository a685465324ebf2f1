//! The fast path for a quoted record on one line, as nearly every Shadowserver row is: the
//! line's quotes and commas are found sixty-four bytes at a time as bit masks, and the fields
//! are cut from the masks, instead of one short search per field. Lines whose quotes only
//! open and close fields (no doubled quotes) are cut between their separators, the commas
//! outside quotes, found from a running parity of the quotes; the others go field by field.
//!
//! It takes only lines whose quoting is plain: a quoted field opens at the start of a field
//! and closes right before a comma or the end of the line (doubled quotes inside are fine).
//! Anything else (a quoted field running on to the next line, text after a closing quote, a
//! line longer than [`MAX_LINE`]) is left to the byte-by-byte reader, which reads such lines
//! as Python's `csv` module does. On the lines it takes, both give the same fields.

use std::borrow::Cow;

/// The longest line this reader takes; longer ones take the byte-by-byte reader.
pub(super) const MAX_LINE: usize = 1024;

/// Where a line's quotes and commas are, one bit per byte, worked out sixty-four bytes at a
/// time as the reader reaches them. Searches go forward through the line, so only the
/// block last reached is kept (nothing is zeroed or built ahead).
struct Masks<'b> {
    bytes: &'b [u8],
    /// The block `quotes` and `commas` are of; `usize::MAX` before the first.
    block: usize,
    quotes: u64,
    commas: u64,
}

impl<'b> Masks<'b> {
    fn of(bytes: &'b [u8]) -> Masks<'b> {
        Masks { bytes, block: usize::MAX, quotes: 0, commas: 0 }
    }

    #[inline]
    fn load(&mut self, block: usize) {
        let rest = &self.bytes[block * 64..];
        let (quotes, commas) = match rest.first_chunk::<64>() {
            Some(whole) => chunk64(whole),
            None => {
                // Zeros are neither quotes nor commas, so the padding sets no bit.
                let mut tail = [0u8; 64];
                tail[..rest.len()].copy_from_slice(rest);
                chunk64(&tail)
            }
        };
        (self.block, self.quotes, self.commas) = (block, quotes, commas);
    }

    fn next_quote(&mut self, from: usize) -> usize {
        self.next_bit(from, true)
    }

    fn next_comma(&mut self, from: usize) -> usize {
        self.next_bit(from, false)
    }

    /// The first quote (or comma) at or after `from`; the line's length when there is none.
    #[inline]
    fn next_bit(&mut self, from: usize, quote: bool) -> usize {
        let len = self.bytes.len();
        let mut at = from;
        while at < len {
            let block = at / 64;
            if block != self.block {
                self.load(block);
            }
            let word = if quote { self.quotes } else { self.commas } & (u64::MAX << (at % 64));
            if word != 0 {
                return block * 64 + word.trailing_zeros() as usize;
            }
            at = (block + 1) * 64;
        }
        len
    }
}

/// Quote and comma bits of sixty-four bytes.
#[inline]
fn chunk64(bytes: &[u8; 64]) -> (u64, u64) {
    let mut masks = (0u64, 0u64);
    for (i, chunk) in bytes.chunks_exact(16).enumerate() {
        let (quotes, commas) = chunk16(chunk.try_into().expect("chunks of 16 bytes"));
        masks.0 |= u64::from(quotes) << (16 * i);
        masks.1 |= u64::from(commas) << (16 * i);
    }
    masks
}

/// Quote and comma bits of sixteen bytes: one compare and one mask move each.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn chunk16(bytes: &[u8; 16]) -> (u16, u16) {
    use safe_arch::{cmp_eq_mask_i8_m128i, load_unaligned_m128i, move_mask_i8_m128i, set_splat_i8_m128i};
    let v = load_unaligned_m128i(bytes);
    let quotes = move_mask_i8_m128i(cmp_eq_mask_i8_m128i(v, set_splat_i8_m128i(b'"' as i8)));
    let commas = move_mask_i8_m128i(cmp_eq_mask_i8_m128i(v, set_splat_i8_m128i(b',' as i8)));
    (quotes as u16, commas as u16)
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn chunk16(bytes: &[u8; 16]) -> (u16, u16) {
    chunk16_bytewise(bytes)
}

/// [`chunk16`] a byte at a time: for other targets, and the reference the tests hold the
/// vector one to.
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
fn chunk16_bytewise(bytes: &[u8; 16]) -> (u16, u16) {
    bytes
        .iter()
        .enumerate()
        .fold((0, 0), |(quotes, commas), (i, &b)| (quotes | (u16::from(b == b'"') << i), commas | (u16::from(b == b',') << i)))
}

/// Reads `line` (without its line ending, at most [`MAX_LINE`] bytes) into `fields` when its
/// quoting is plain, and tells whether its last field was quoted. `None`, with `fields` as
/// it was, when the byte-by-byte reader must take the line.
pub(super) fn read<'a>(line: &'a str, fields: &mut Vec<Cow<'a, str>>) -> Option<LastField> {
    let before = fields.len();
    if let Some(last) = read_separated(line, fields) {
        return Some(last);
    }
    fields.truncate(before);
    let read = read_fields(line, fields);
    if read.is_none() {
        fields.truncate(before);
    }
    read
}

/// The commonest line of all: every quote opens a field or closes one right before a comma
/// or the end, and none is doubled. Its separators (the commas outside quotes) are found a
/// block at a time, from a running parity of the quotes, and its fields cut between them
/// without a search per field. `None` (with fields perhaps pushed) for any other line,
/// which [`read_fields`] then takes.
fn read_separated<'a>(line: &'a str, fields: &mut Vec<Cow<'a, str>>) -> Option<LastField> {
    let bytes = line.as_bytes();
    let len = bytes.len();
    // All ones while a quoted field runs on past the block before.
    let mut inside_before = 0u64;
    // The block before ended with a separator (or this is the first block): a field starts
    // at this block's first byte.
    let mut field_starts_here = 1u64;
    // The block before ended with a closing quote: this block must start with a separator.
    let mut closed_before = false;
    let mut start = 0;
    let mut masks = Masks::of(bytes);
    for block in 0..len.div_ceil(64) {
        masks.load(block);
        let (quotes, commas) = (masks.quotes, masks.commas);
        // Bit i: inside quotes just after byte i (a quote flips it at its own place).
        let inside = prefix_xor(quotes) ^ inside_before;
        let separators = commas & !inside;
        let opening = quotes & inside;
        let closing = quotes & !inside;
        let starts = (separators << 1) | field_starts_here;
        // After a closing quote: a separator, or the end of the line.
        let end = if block == len / 64 { 1u64 << (len % 64) } else { 0 };
        let after_closing = closing << 1;
        if opening & !starts != 0 || after_closing & !(separators | end) != 0 || (closed_before && separators & 1 == 0) {
            return None;
        }
        let mut rest = separators;
        while rest != 0 {
            let at = block * 64 + rest.trailing_zeros() as usize;
            rest &= rest - 1;
            push_field(line, start, at, fields);
            start = at + 1;
        }
        inside_before = ((inside as i64) >> 63) as u64;
        field_starts_here = separators >> 63;
        closed_before = closing >> 63 != 0;
    }
    if inside_before != 0 {
        // A quote still open at the end of the line.
        return None;
    }
    Some(push_field(line, start, len, fields))
}

/// Pushes the field of `line[start..end]`, without its quotes when quoted (which the caller
/// has checked close right before `end`).
#[inline(always)]
fn push_field<'a>(line: &'a str, start: usize, end: usize, fields: &mut Vec<Cow<'a, str>>) -> LastField {
    if line.as_bytes().get(start) == Some(&b'"') {
        fields.push(Cow::Borrowed(&line[start + 1..end - 1]));
        LastField::Quoted
    } else {
        fields.push(Cow::Borrowed(&line[start..end]));
        LastField::Bare
    }
}

/// Bit i of the result: whether an odd number of bits 0..=i of `x` are set.
#[inline(always)]
fn prefix_xor(mut x: u64) -> u64 {
    for shift in [1, 2, 4, 8, 16, 32] {
        x ^= x << shift;
    }
    x
}

/// How a line's last field was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LastField {
    Quoted,
    Bare,
}

fn read_fields<'a>(line: &'a str, fields: &mut Vec<Cow<'a, str>>) -> Option<LastField> {
    let bytes = line.as_bytes();
    let len = bytes.len();
    let mut masks = Masks::of(bytes);
    let mut at = 0;
    loop {
        if bytes.get(at) == Some(&b'"') {
            let mut search = at + 1;
            let mut doubled = false;
            let close = loop {
                let quote = masks.next_quote(search);
                if quote >= len {
                    // Still open at the end of the line.
                    return None;
                }
                if bytes.get(quote + 1) == Some(&b'"') {
                    doubled = true;
                    search = quote + 2;
                } else {
                    break quote;
                }
            };
            let inner = &line[at + 1..close];
            // Pushed in each branch: a value chosen between the two went through the stack, and
            // its wide reload stalled on the narrower stores that had just written it.
            if doubled {
                fields.push(Cow::Owned(inner.replace("\"\"", "\"")));
            } else {
                fields.push(Cow::Borrowed(inner));
            }
            match bytes.get(close + 1) {
                None => return Some(LastField::Quoted),
                Some(b',') => at = close + 2,
                // Text after the closing quote.
                Some(_) => return None,
            }
        } else {
            let comma = masks.next_comma(at);
            fields.push(Cow::Borrowed(&line[at..comma]));
            if comma >= len {
                return Some(LastField::Bare);
            }
            at = comma + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(line: &str) -> Option<Vec<String>> {
        let mut out = Vec::new();
        read(line, &mut out).map(|_| out.iter().map(|f| f.to_string()).collect())
    }

    #[test]
    fn plain_lines_are_cut_and_the_rest_is_refused() {
        assert_eq!(fields(r#""a","b,c",1,,"""q""",x"y"#).unwrap(), ["a", "b,c", "1", "", "\"q\"", "x\"y"]);
        assert_eq!(fields(r#""a","#).unwrap(), ["a", ""]);
        assert_eq!(read(r#"a,"b""#, &mut Vec::new()), Some(LastField::Quoted));
        assert_eq!(read(r#""a",b"#, &mut Vec::new()), Some(LastField::Bare));
        assert_eq!(fields(r#","""#).unwrap(), ["", ""]);
        assert_eq!(fields("\"a\"\r,b"), None, "text after a closing quote");
        assert_eq!(fields(r#""open"#), None);
        assert_eq!(fields(r#""a"b,c"#), None);
        assert_eq!(fields(r#""a"""#), None, "a doubled quote at the end leaves the field open");
    }

    proptest::proptest! {
        #[test]
        fn vector_masks_are_the_bytewise_ones(bytes in proptest::array::uniform16(proptest::sample::select(vec![b'"', b',', b'a', 0, 0x80, 0xA2, 0xAC]))) {
            proptest::prop_assert_eq!(chunk16(&bytes), chunk16_bytewise(&bytes));
        }
    }

    #[test]
    fn quotes_are_checked_across_blocks() {
        // A quoted field closing on the last byte of a block: the next block must start with
        // a separator (or the line end there).
        let cell = "q".repeat(62);
        assert_eq!(fields(&format!("\"{cell}\",b")).unwrap(), [cell.as_str(), "b"]);
        assert_eq!(fields(&format!("\"{cell}\"")).unwrap(), [cell.as_str()]);
        assert_eq!(fields(&format!("\"{cell}\"b")), None, "text after a closing quote");
        // A quoted field running across a block, with commas in it.
        let long = format!("{},{}", "a".repeat(70), "b".repeat(70));
        assert_eq!(fields(&format!("x,\"{long}\",y")).unwrap(), ["x", long.as_str(), "y"]);
        assert_eq!(fields(&format!("x,\"{long}")), None, "still open at the end");
    }

    #[test]
    fn masks_reach_every_word() {
        let cell = "x".repeat(60);
        let line = vec![format!("\"{cell}\""); 16].join(",");
        assert!(line.len() <= MAX_LINE);
        assert_eq!(fields(&line).unwrap(), vec![cell; 16]);
        for len in [0, 1, 15, 16, 17, 63, 64, 65, MAX_LINE] {
            let line = ",".repeat(len);
            assert_eq!(fields(&line).unwrap().len(), len + 1, "{len} commas");
        }
    }
}
