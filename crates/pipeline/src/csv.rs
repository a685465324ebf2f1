//! A fast RFC 4180 CSV reader over a text buffer.
//!
//! Fields borrow from the input: an unquoted field, or a quoted one without doubled quotes,
//! is a slice of the buffer; only a quoted field holding `""` is copied to unescape it. The
//! caller hands in the vector the fields go into and reuses it from record to record, so a
//! record of plain fields costs no allocation at all.
//!
//! Accepted: LF and CRLF line endings (mixed too), newlines, commas and doubled quotes inside
//! quoted fields, a UTF-8 byte order mark at the start, a missing final newline. Blank lines
//! are skipped (as Python's `csv.DictReader` skips them), though they still count for line
//! numbers. Beyond RFC 4180, malformed quoting is read as Python's `csv` module reads it (and
//! so as IntelMQ did), because real Shadowserver reports have it (`"Basic realm=\"\"x\"\""`):
//! a quote inside an unquoted field is literal, and text after the closing quote of a field
//! joins the field, quotes and all, up to the next comma or line end. The one error
//! ([`CsvError`]) is a quoted field still open at the end of the input; it ends the reading,
//! as the rest of the input is inside it.

use std::borrow::Cow;

mod plain_line;

/// Where a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordInfo<'a> {
    /// The 1-based physical line on which the record starts.
    pub line: usize,
    /// The record as it stands in the input, without its line ending. Several physical lines
    /// when a quoted field holds a newline.
    pub raw: &'a str,
}

/// A record that is not valid CSV.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    #[error("line {line}: a quoted field is still open at the end of the input")]
    UnclosedQuote { line: usize },
}

impl CsvError {
    /// The line on which the bad record starts.
    pub fn line(&self) -> usize {
        match self {
            CsvError::UnclosedQuote { line } => *line,
        }
    }
}

/// Reads records from a CSV text, one at a time.
#[derive(Debug, Clone)]
pub struct CsvReader<'a> {
    text: &'a str,
    /// Byte offset of the next record.
    pos: usize,
    /// Physical line of `pos`.
    line: usize,
    done: bool,
    /// Quoted records on one line go through [`plain_line`] first.
    plain_lines: bool,
}

impl<'a> CsvReader<'a> {
    pub fn new(text: &'a str) -> Self {
        let pos = if text.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
        Self { text, pos, line: 1, done: false, plain_lines: true }
    }

    /// The physical line the next record starts on (or the line after the last one).
    pub fn line(&self) -> usize {
        self.line
    }

    /// Reads the next record into `fields` (cleared first). `None` at the end of the input.
    /// On an error `fields` holds whatever was read of the bad record.
    pub fn next_record(&mut self, fields: &mut Vec<Cow<'a, str>>) -> Option<Result<RecordInfo<'a>, CsvError>> {
        fields.clear();
        let text = self.text;
        loop {
            if self.done || self.pos >= text.len() {
                self.done = true;
                return None;
            }
            let start = self.pos;
            let rest = &text[start..];
            // One search finds the line's end or tells it has a quote (then the slow path).
            let (line_len, next) = match memchr::memchr2(b'\n', b'"', rest.as_bytes()) {
                Some(i) if rest.as_bytes()[i] == b'"' => return Some(self.quoted_record(fields)),
                Some(i) => (i, start + i + 1),
                None => (rest.len(), text.len()),
            };
            let mut content = &rest[..line_len];
            if let Some(stripped) = content.strip_suffix('\r') {
                content = stripped;
            }
            if content.is_empty() {
                // A blank line: no record, but a line.
                self.pos = next;
                self.line += 1;
                continue;
            }
            // The common case: no quoting anywhere on the line, so the record is this
            // line and its fields are the pieces between commas.
            fields.extend(content.split(',').map(Cow::Borrowed));
            let info = RecordInfo { line: self.line, raw: content };
            self.pos = next;
            self.line += 1;
            return Some(Ok(info));
        }
    }

    /// Reads a record that has a quote somewhere: from the masks of its line when its
    /// quoting is plain, else byte by byte.
    fn quoted_record(&mut self, fields: &mut Vec<Cow<'a, str>>) -> Result<RecordInfo<'a>, CsvError> {
        let text = self.text;
        let bytes = text.as_bytes();
        let start = self.pos;
        let first_line = self.line;
        if self.plain_lines {
            let (line_end, next) = match memchr::memchr(b'\n', &bytes[start..]) {
                Some(at) => (start + at, start + at + 1),
                None => (bytes.len(), bytes.len()),
            };
            let line = &text[start..line_end];
            let line = line.strip_suffix('\r').unwrap_or(line);
            let read = if line.len() <= plain_line::MAX_LINE { plain_line::read(line, fields) } else { None };
            if let Some(last) = read {
                // At the end of the input, a CR after a last field that is not quoted is left
                // for the next call, which reads it as a blank line, as the byte-by-byte
                // reader does; after a quoted one, that reader takes it with the record.
                let cr_left = next == line_end && last == plain_line::LastField::Bare;
                self.pos = if cr_left { start + line.len() } else { next };
                self.line += usize::from(next > line_end);
                return Ok(RecordInfo { line: first_line, raw: line });
            }
        }
        let mut i = start;
        // `end`: where the record's text ends; `next`: where the next record starts.
        let (end, next) = loop {
            // `i` is at the start of a field.
            let term = if bytes.get(i) == Some(&b'"') {
                let open = i + 1;
                let mut search = open;
                let mut doubled = false;
                let close = loop {
                    match memchr::memchr(b'"', &bytes[search..]) {
                        None => {
                            self.line += count_newlines(&bytes[start..]);
                            self.pos = bytes.len();
                            self.done = true;
                            return Err(CsvError::UnclosedQuote { line: first_line });
                        }
                        Some(at) => {
                            let q = search + at;
                            if bytes.get(q + 1) == Some(&b'"') {
                                doubled = true;
                                search = q + 2;
                            } else {
                                break q;
                            }
                        }
                    }
                };
                let inner = &text[open..close];
                // Pushed in each branch: a value chosen between the two went through the stack, and
                // its wide reload stalled on the narrower stores that had just written it.
                if doubled {
                    fields.push(Cow::Owned(inner.replace("\"\"", "\"")));
                } else {
                    fields.push(Cow::Borrowed(inner));
                }
                let after = close + 1;
                match bytes.get(after) {
                    None => Terminator::End(after),
                    Some(b',') => Terminator::Comma(after),
                    Some(b'\n') => Terminator::Newline(after, after + 1),
                    Some(b'\r') if matches!(bytes.get(after + 1), None | Some(b'\n')) => {
                        Terminator::Newline(after, (after + 2).min(bytes.len()))
                    }
                    Some(_) => {
                        // Text after the closing quote: as Python's csv module does, it joins
                        // the field, up to the next comma or line end.
                        let (rest_end, term) = unquoted_field(bytes, after);
                        if let Some(field) = fields.last_mut() {
                            field.to_mut().push_str(&text[after..rest_end]);
                        }
                        term
                    }
                }
            } else {
                let (field_end, term) = unquoted_field(bytes, i);
                fields.push(Cow::Borrowed(&text[i..field_end]));
                term
            };
            match term {
                Terminator::Comma(at) => i = at + 1,
                Terminator::Newline(end, next) => break (end, next),
                Terminator::End(end) => break (end, end),
            }
        };
        // Most records are one line: counting is needed only when a newline comes before the end.
        if memchr::memchr(b'\n', &bytes[start..end]).is_some() {
            self.line += count_newlines(&bytes[start..next]);
        } else {
            self.line += usize::from(bytes[end..next].contains(&b'\n'));
        }
        self.pos = next;
        Ok(RecordInfo { line: first_line, raw: &text[start..end] })
    }
}

/// What ends a field.
enum Terminator {
    /// A comma at this offset; another field follows.
    Comma(usize),
    /// The record ends at the first offset; the next one starts at the second.
    Newline(usize, usize),
    /// The input ends here.
    End(usize),
}

/// An unquoted field from `i`: where its text ends (a CR before the LF is not part of it) and
/// what ends it.
fn unquoted_field(bytes: &[u8], i: usize) -> (usize, Terminator) {
    let stop = memchr::memchr2(b',', b'\n', &bytes[i..]).map_or(bytes.len(), |at| i + at);
    match bytes.get(stop) {
        Some(b',') => (stop, Terminator::Comma(stop)),
        Some(_) => {
            let end = if stop > i && bytes[stop - 1] == b'\r' { stop - 1 } else { stop };
            (end, Terminator::Newline(end, stop + 1))
        }
        None => {
            let end = if stop > i && bytes[stop - 1] == b'\r' { stop - 1 } else { stop };
            (end, Terminator::End(end))
        }
    }
}

/// Newlines in `bytes`: physical lines, for line numbers and batch sizes.
pub fn count_newlines(bytes: &[u8]) -> usize {
    count_byte(bytes, b'\n')
}

/// How often `needle` occurs in `bytes`. Counts in one-byte lanes over blocks of 255 bytes
/// (a block cannot overflow them), which the compiler keeps in vector registers; counting
/// into a `usize` per byte widened every lane and ran twelve times slower.
pub fn count_byte(bytes: &[u8], needle: u8) -> usize {
    bytes.chunks(255).map(|block| usize::from(block.iter().fold(0u8, |n, &b| n.wrapping_add(u8::from(b == needle))))).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (line, raw, fields) per record.
    type Read<'a> = Result<(usize, &'a str, Vec<String>), CsvError>;

    fn read_all(text: &str) -> Vec<Read<'_>> {
        let mut reader = CsvReader::new(text);
        let mut fields = Vec::new();
        let mut out = Vec::new();
        while let Some(record) = reader.next_record(&mut fields) {
            out.push(record.map(|info| (info.line, info.raw, fields.iter().map(|f| f.to_string()).collect())));
            assert!(out.len() <= text.len() + 1, "the reader does not advance");
        }
        out
    }

    fn row<'t>(line: usize, raw: &'t str, fields: &[&str]) -> Result<(usize, &'t str, Vec<String>), CsvError> {
        Ok((line, raw, fields.iter().map(|f| f.to_string()).collect()))
    }

    #[test]
    fn plain_quoted_crlf_bom_and_blank_lines() {
        let text = "\u{feff}a,b,c\r\n1,\"two\",3\r\n\r\n\"x,y\",\"say \"\"hi\"\"\",\n\"multi\nline\",z,\"\"\nlast,row";
        assert_eq!(
            read_all(text),
            vec![
                row(1, "a,b,c", &["a", "b", "c"]),
                row(2, "1,\"two\",3", &["1", "two", "3"]),
                row(4, "\"x,y\",\"say \"\"hi\"\"\",", &["x,y", "say \"hi\"", ""]),
                row(5, "\"multi\nline\",z,\"\"", &["multi\nline", "z", ""]),
                row(7, "last,row", &["last", "row"]),
            ]
        );
    }

    #[test]
    fn fields_borrow_unless_quotes_are_doubled() {
        let text = "plain,\"quoted\",\"dou\"\"bled\",\"new\nline\"\n";
        let mut reader = CsvReader::new(text);
        let mut fields = Vec::new();
        let info = reader.next_record(&mut fields).unwrap().unwrap();
        assert_eq!(info, RecordInfo { line: 1, raw: &text[..text.len() - 1] });
        let borrowed: Vec<bool> = fields.iter().map(|f| matches!(f, Cow::Borrowed(_))).collect();
        assert_eq!(borrowed, [true, true, false, true]);
        assert_eq!(fields[2], "dou\"bled");
        assert!(reader.next_record(&mut fields).is_none());
        assert_eq!(reader.line(), 3);
    }

    #[test]
    fn malformed_quoting_reads_as_python_reads_it() {
        // From a Shadowserver report: backslash-escaped quotes inside a quoted field.
        let text = "a,\"Basic realm=\\\"\\\"Squid\\\"\\\"\",c\n\"b\"x\"y\",1\n";
        let got = read_all(text);
        assert_eq!(got[0], row(1, &text[..text.find('\n').unwrap()], &["a", "Basic realm=\\\\\"Squid\\\"\\\"\"", "c"]));
        assert_eq!(got[1], row(2, "\"b\"x\"y\",1", &["bx\"y\"", "1"]));
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn an_unclosed_quote_is_an_error_that_ends_the_reading() {
        let got = read_all("ok,1\n\"open\nmore,2\n");
        assert_eq!(got[0], row(1, "ok,1", &["ok", "1"]));
        assert_eq!(got[1], Err(CsvError::UnclosedQuote { line: 2 }));
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].clone().unwrap_err().line(), 2);
    }

    #[test]
    fn edge_cases() {
        assert!(read_all("").is_empty());
        assert!(read_all("\u{feff}").is_empty());
        assert!(read_all("\n\r\n\n").is_empty());
        assert_eq!(read_all("a"), vec![row(1, "a", &["a"])]);
        assert_eq!(read_all("a,\r"), vec![row(1, "a,", &["a", ""])]);
        assert_eq!(read_all("\"a\"\r"), vec![row(1, "\"a\"", &["a"])]);
        assert_eq!(read_all(",\n"), vec![row(1, ",", &["", ""])]);
        assert_eq!(read_all("\"\""), vec![row(1, "\"\"", &[""])]);
        assert_eq!(read_all("a\"b,c\n"), vec![row(1, "a\"b,c", &["a\"b", "c"])]);
        assert_eq!(read_all("x,\"a\r\nb\"\r\ny"), vec![row(1, "x,\"a\r\nb\"", &["x", "a\r\nb"]), row(3, "y", &["y"])]);
        assert_eq!(read_all("a\rb,c"), vec![row(1, "a\rb,c", &["a\rb", "c"])]);
    }

    /// Writes records as RFC 4180 CSV, quoting only where needed.
    fn write(records: &[Vec<String>], crlf: bool, final_newline: bool) -> (String, Vec<(usize, usize, usize)>) {
        let mut out = String::new();
        let mut spans = Vec::new();
        let mut line = 1;
        for (n, record) in records.iter().enumerate() {
            let start = out.len();
            for (i, field) in record.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let lone_empty = record.len() == 1 && field.is_empty();
                if lone_empty || field.contains([',', '"', '\n', '\r']) {
                    out.push('"');
                    out.push_str(&field.replace('"', "\"\""));
                    out.push('"');
                } else {
                    out.push_str(field);
                }
            }
            spans.push((line, start, out.len()));
            line += out[start..].matches('\n').count() + 1;
            if n + 1 < records.len() || final_newline {
                out.push_str(if crlf { "\r\n" } else { "\n" });
            }
        }
        (out, spans)
    }

    /// Every record as the reader gives it, with or without the plain-line path.
    fn read_all_with(text: &str, plain_lines: bool) -> Vec<Read<'_>> {
        let mut reader = CsvReader::new(text);
        reader.plain_lines = plain_lines;
        let mut fields = Vec::new();
        let mut out = Vec::new();
        while let Some(record) = reader.next_record(&mut fields) {
            out.push(record.map(|info| (info.line, info.raw, fields.iter().map(|f| f.to_string()).collect())));
        }
        out.push(Ok((reader.line(), "", Vec::new())));
        out
    }

    #[test]
    fn full_blocks_of_the_needle_do_not_overflow_the_lanes() {
        for len in [254, 255, 256, 510, 511, 1000] {
            assert_eq!(count_byte(&vec![b'"'; len], b'"'), len);
        }
    }

    proptest::proptest! {
        #[test]
        fn records_round_trip(
            records in proptest::collection::vec(proptest::collection::vec("[a-c\",\r\n é]{0,5}", 1..5), 0..6),
            crlf in proptest::bool::ANY,
            final_newline in proptest::bool::ANY,
        ) {
            let (text, spans) = write(&records, crlf, final_newline);
            let mut reader = CsvReader::new(&text);
            let mut fields = Vec::new();
            for (record, (line, start, end)) in records.iter().zip(&spans) {
                let info = reader.next_record(&mut fields);
                proptest::prop_assert!(info.is_some(), "missing record in {text:?}");
                let info = info.unwrap();
                proptest::prop_assert_eq!(info.clone(), Ok(RecordInfo { line: *line, raw: &text[*start..*end] }), "{:?}", text);
                let got: Vec<&str> = fields.iter().map(|f| &**f).collect();
                proptest::prop_assert_eq!(got, record.iter().map(String::as_str).collect::<Vec<_>>(), "{:?}", text);
            }
            proptest::prop_assert!(reader.next_record(&mut fields).is_none());
        }

        #[test]
        fn counting_a_byte_agrees_with_a_plain_count(bytes in proptest::collection::vec(proptest::sample::select(vec![b'"', b'\n', b'a']), 0..2000)) {
            for needle in [b'"', b'\n', b'a', b'z'] {
                proptest::prop_assert_eq!(count_byte(&bytes, needle), bytes.iter().filter(|&&b| b == needle).count());
            }
        }

        #[test]
        fn plain_lines_read_as_the_byte_by_byte_reader_reads_them(text in "[a\",\r\n é]{0,120}") {
            proptest::prop_assert_eq!(read_all_with(&text, true), read_all_with(&text, false), "{:?}", text);
        }

        #[test]
        fn long_plain_lines_read_as_the_byte_by_byte_reader_reads_them(
            cells in proptest::collection::vec("[a\",]{0,3}|\"[ab,]{0,70}\"", 1..40),
        ) {
            let text = format!("{}\r\n{}\n", cells.join(","), cells.join(","));
            proptest::prop_assert_eq!(read_all_with(&text, true), read_all_with(&text, false), "{:?}", text);
        }

        #[test]
        fn never_panics_and_always_advances(text in "[a\",\r\n\u{feff}é]{0,80}") {
            let mut reader = CsvReader::new(&text);
            let mut fields = Vec::new();
            let mut records = 0;
            let mut last_line = 0;
            while let Some(record) = reader.next_record(&mut fields) {
                records += 1;
                proptest::prop_assert!(records <= text.len() + 1);
                let line = match record {
                    Ok(info) => {
                        proptest::prop_assert!(!info.raw.ends_with(['\n']));
                        info.line
                    }
                    Err(e) => e.line(),
                };
                proptest::prop_assert!(line > last_line);
                last_line = line;
            }
        }
    }
}
