#![no_main]
//! Feed files come from anyone who mails or uploads one: the CSV reader must end, and every
//! record it returns must be text of the input.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let mut reader = rampart_pipeline::csv::CsvReader::new(text);
        let mut cells = Vec::new();
        let mut records = 0usize;
        while let Some(record) = reader.next_record(&mut cells) {
            if let Ok(info) = record {
                assert!(text.contains(info.raw));
            }
            records += 1;
            assert!(records <= text.len() + 1, "the reader makes progress");
        }
    }
});
