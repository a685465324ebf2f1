//! Remembered conversions ([`RowMemo`]) against conversions worked out row by row: the same
//! events, byte for byte, with the same fingerprints and the same row errors.

use proptest::prelude::*;
use rampart_core::testdata;
use rampart_pipeline::csv::RecordInfo;
use rampart_pipeline::event::Event;
use rampart_pipeline::experts::DedupeKeys;
use rampart_pipeline::memo::{MemoArena, RowMemo};
use rampart_pipeline::shadowserver::{CompiledReport, Schema};
use serde_json::Value;
use std::borrow::Cow;

/// What a row gave: its IntelMQ JSON and fingerprint, or its error.
fn outcome(result: Result<(), impl std::fmt::Display>, event: &Event<'_>) -> Result<(String, u64), String> {
    result.map_err(|e| e.to_string())?;
    let mut json = Vec::new();
    event.write_intelmq_json(&mut json);
    Ok((String::from_utf8(json).expect("JSON is UTF-8"), DedupeKeys::default().fingerprint(event)))
}

/// Parses `rows` `rounds` times over through one memo, and each row once without; returns
/// how many rows were compared, failing on the first difference.
fn compare(report: &CompiledReport, rows: &[Vec<String>], rounds: usize, what: &str) -> usize {
    let lines: Vec<String> = rows.iter().map(|row| row.join(",")).collect();
    let arena = MemoArena::default();
    let mut memo = RowMemo::new(&arena);
    let mut compared = 0;
    for round in 0..rounds {
        for (i, row) in rows.iter().enumerate() {
            let fields: Vec<Cow<'_, str>> = row.iter().map(|v| Cow::Borrowed(v.as_str())).collect();
            let record = RecordInfo { line: i + 2, raw: &lines[i] };
            let mut fresh = Event::new();
            let fresh_result = report.parse_row(&fields, record, report.raw_header(), &mut fresh);
            let expected = outcome(fresh_result, &fresh);
            let mut remembered = Event::new();
            let result = report.parse_row_with_memo(&fields, record, report.raw_header(), &mut remembered, &mut memo);
            let got = outcome(result, &remembered);
            assert_eq!(got, expected, "{what}: round {round}, row {}: {row:?}", i + 1);
            compared += 1;
        }
    }
    compared
}

#[test]
fn every_sample_report_gives_the_same_events_with_remembered_conversions() {
    let (mut reports, mut rows_compared) = (0, 0);
    for sample in super::samples::csv_samples() {
        let records = sample.records();
        let header: Vec<&str> = records[0].iter().map(String::as_str).collect();
        let Ok(compiled) = sample.report.compile(&header) else { continue };
        // Three rounds: the second and third find what the first remembered.
        rows_compared += compare(&compiled.with_raw(false), &records[1..], 3, &sample.name);
        reports += 1;
    }
    assert!(reports >= 80, "only {reports} sample reports compared");
    assert!(rows_compared >= 1000, "only {rows_compared} rows compared");
}

/// Values that each converter and field type takes, refuses or turns into nothing.
pub(crate) fn value() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "",
        "0",
        "-",
        "N/A",
        "unknown",
        "TW",
        "tw",
        "AUT",
        " TW",
        "udp",
        "UDP",
        "53",
        "053",
        "65536",
        "-1",
        "1.5",
        "1e3",
        "nan",
        "192.0.2.1",
        " 192.0.2.1",
        "0.0.0.0",
        "2001:db8::1",
        "192.0.2.0/24",
        "host.example",
        "Host.Example.",
        "http://x.example/a",
        "hxxp://x.example",
        "2026-11-29 00:00:00",
        "2026-11-29T00:00:00Z",
        "not a date",
        "true",
        "no",
        "yes",
        "cve-2021-1234;openresolver",
        "exchange;webshell",
        "a\"b",
        "x\\y",
        "é",
        "12345678901234567",
        "1234567890123456",
    ])
    .prop_map(str::to_string)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Rows drawn from a few values per column repeat them, so the memo is found, refused,
    /// turned off and full along the way; every row must still come out as without it.
    #[test]
    fn random_rows_give_the_same_events_with_remembered_conversions(
        report_type in prop::sample::select(vec!["scan_dns", "scan_http", "event4_sinkhole_http", "scan_exchange", "device_id", "compromised_website"]),
        rows in prop::collection::vec(prop::collection::vec(value(), 40), 1..200),
    ) {
        let report = Schema::builtin().report(report_type).unwrap();
        // The columns Shadowserver publishes for the report.
        let reports: Value = serde_json::from_str(&testdata::read("shadowserver/report_schema/reports.json")).unwrap();
        let header: Vec<&str> = reports[report_type]["fields"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
        let compiled = report.compile(&header).unwrap().with_raw(false);
        let rows: Vec<Vec<String>> = rows.into_iter().map(|mut row| { row.resize(header.len(), String::new()); row }).collect();
        compare(&compiled, &rows, 2, report_type);
    }
}
