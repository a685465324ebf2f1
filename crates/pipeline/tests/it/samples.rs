//! The CSV sample reports of `shared/testdata/shadowserver`, for tests that run every one.

use rampart_core::testdata;
use rampart_pipeline::csv::CsvReader;
use rampart_pipeline::shadowserver::{Report, Schema};
use serde_json::Value;

/// A sample report of a type the built-in schema has.
pub(crate) struct CsvSample {
    /// The expectations file it comes from, for messages.
    pub name: String,
    pub report: &'static Report,
    pub text: String,
}

impl CsvSample {
    /// Its records, the header first.
    pub fn records(&self) -> Vec<Vec<String>> {
        let mut reader = CsvReader::new(&self.text);
        let mut cells = Vec::new();
        let mut records = Vec::new();
        while let Some(record) = reader.next_record(&mut cells) {
            record.unwrap();
            records.push(cells.iter().map(|c| c.to_string()).collect());
        }
        records
    }
}

/// Every CSV sample whose report type the built-in schema still has, in file name order.
pub(crate) fn csv_samples() -> Vec<CsvSample> {
    let dir = testdata::path("shadowserver/expected");
    let mut files: Vec<_> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "json")).collect();
    files.sort();
    let schema = Schema::builtin();
    let mut samples = Vec::new();
    for path in &files {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        if doc["input_format"].as_str() == Some("json") {
            continue;
        }
        let file_name = doc["report"]["extra.file_name"].as_str().unwrap();
        // Report types the 2026 schema no longer has (the Shadowserver test lists them).
        let Ok(report) = schema.resolve_file_name(file_name) else { continue };
        let text = testdata::read(&format!("shadowserver/testdata/{}", doc["input_file"].as_str().unwrap()));
        samples.push(CsvSample { name: path.display().to_string(), report, text });
    }
    samples
}
