#![no_main]
//! JSON feeds come from third parties: turning a document into records, and a record into an
//! event, must refuse bad input with a reason.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = rampart_pipeline::mapping::json_records_as_lines(data, Some("/data"));
    if let Ok(lines) = rampart_pipeline::mapping::json_records_as_lines(data, None) {
        for line in lines.lines().take(1000) {
            let _ = rampart_pipeline::event::read_intelmq_json(line);
        }
    }
});
