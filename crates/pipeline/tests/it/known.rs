//! Records met before in a run: a repeated record is counted as a duplicate without being
//! read again, and that changes nothing in what a batch gives (compared through events, which
//! read every record, as in `direct`). A scratch kept for another run reads its rows again.

use super::direct::{compare, index, scan_dns, summary};
use proptest::prelude::*;
use rampart_pipeline::engine::{process_batch, BatchInput, FingerprintSet, Scratch, Stages};
use rampart_pipeline::experts::DedupeKeys;
use rampart_pipeline::shadowserver::{CsvReportRows, Schema};
use serde_json::Value;

/// `lines` in the order of `order`, each ending as `endings` says in turn (LF or CRLF).
fn body_of(lines: &[String], order: &[usize], crlf: &[bool]) -> String {
    let mut body = String::new();
    for (n, &i) in order.iter().enumerate() {
        body.push_str(&lines[i % lines.len()]);
        body.push_str(if crlf.get(n % crlf.len().max(1)).copied().unwrap_or(false) { "\r\n" } else { "\n" });
    }
    body
}

#[test]
fn repeated_records_are_duplicates_and_change_nothing_else() {
    let mut compared = 0;
    for sample in super::samples::csv_samples().into_iter().take(24) {
        let (header_line, body) = sample.text.split_once('\n').unwrap();
        let header: Vec<String> = sample.records()[0].clone();
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let Ok(compiled) = sample.report.compile(&header) else { continue };
        let mut lines: Vec<String> = body.lines().filter(|l| !l.trim().is_empty()).map(str::to_string).collect();
        // A record that is quarantined, twice over, and one with a field no type takes.
        lines.push(format!("{},\"one too many\"", lines[0]));
        let n = lines.len();
        // Every record, then every record again backwards, then the first few a third time
        // with other line endings.
        let order: Vec<usize> = (0..n).chain((0..n).rev()).chain(0..n.min(5)).collect();
        let crlf: Vec<bool> = (0..order.len()).map(|i| i >= 2 * n).collect();
        let repeated = body_of(&lines, &order, &crlf);
        for raw in [true, false] {
            compare(compiled.clone().with_raw(raw), header_line, &repeated, &format!("{} repeated", sample.name));
        }
        compared += 1;
    }
    assert!(compared >= 20, "only {compared} reports");
}

#[test]
fn a_repeated_record_is_counted_once_per_repeat() {
    let parser = scan_dns();
    let header: Vec<&str> = parser.header_line.split(',').collect();
    let row = |ip: &str| {
        let mut cells = vec![String::new(); header.len()];
        cells[0] = "2026-11-29 00:00:00".into();
        cells[header.iter().position(|h| *h == "ip").unwrap()] = ip.into();
        cells.join(",")
    };
    let (a, b) = (row("192.0.2.1"), row("192.0.2.2"));
    let body = [&a, &b, &a, &a, &b, "not,a,row,with,the,columns,of,this,report,at,all,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,,", &a]
        .map(|l| format!("{l}\n"))
        .concat();
    let index = index();
    let keys = DedupeKeys::default();
    let stages = Stages {
        index: &index,
        rules: None,
        dedupe: &keys,
        feed_name: None,
        observation_time: "2026-11-30T12:00:00+00:00",
        notify_all: false,
        warninglists: None,
    };
    let mut seen = FingerprintSet::default();
    let mut scratch = Scratch::default();
    let out = process_batch(BatchInput::Csv { parser: &parser, text: &body, first_line: 1 }, &stages, 1, &mut seen, &mut scratch);
    assert_eq!((out.counts.rows_read, out.counts.written, out.counts.duplicates), (7, 2, 4), "{:?}", out.counts);
    // The next batch of the run finds both.
    let again = process_batch(BatchInput::Csv { parser: &parser, text: &body, first_line: 8 }, &stages, 2, &mut seen, &mut scratch);
    assert_eq!((again.counts.written, again.counts.duplicates), (0, 6), "{:?}", again.counts);
}

#[test]
fn a_scratch_kept_for_another_run_reads_its_rows_again() {
    let sample = super::samples::csv_samples().into_iter().find(|s| s.name.ends_with("scan_dns.json")).expect("the scan_dns sample");
    let (header_line, body) = sample.text.split_once('\n').unwrap();
    let header: Vec<String> = sample.records()[0].clone();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let parser = CsvReportRows { report: sample.report.compile(&header).unwrap().with_raw(false), header_line: header_line.into() };
    let index = index();
    // The observation time counts: each run's events are new to the other.
    let keys = DedupeKeys::AllExcept(vec![]);
    let stages_at = |time: &'static str| Stages {
        index: &index,
        rules: None,
        dedupe: &keys,
        feed_name: None,
        observation_time: time,
        notify_all: false,
        warninglists: None,
    };
    for forget in [false, true] {
        let mut seen = FingerprintSet::default();
        let mut scratch = Scratch::default();
        let first = process_batch(
            BatchInput::Csv { parser: &parser, text: body, first_line: 1 },
            &stages_at("2026-11-30T12:00:00+00:00"),
            1,
            &mut seen,
            &mut scratch,
        );
        assert!(first.counts.written > 0);
        if forget {
            scratch.new_run();
        }
        // The fingerprints stay, as a worker keeps a feed's from message to message.
        let later = stages_at("2026-11-30T12:00:01+00:00");
        let second = process_batch(BatchInput::Csv { parser: &parser, text: body, first_line: 1 }, &later, 1, &mut seen, &mut scratch);
        assert_eq!(second.counts.written, first.counts.written, "forget: {forget}");
        let fresh = process_batch(
            BatchInput::Csv { parser: &parser, text: body, first_line: 1 },
            &later,
            1,
            &mut FingerprintSet::default(),
            &mut Scratch::default(),
        );
        assert_eq!(summary(&second), summary(&fresh));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Rows of a few values per column, repeated in any order.
    #[test]
    fn random_repeated_rows_change_nothing_but_the_reading(
        rows in prop::collection::vec(prop::collection::vec(super::memo::value(), 17), 1..12),
        order in prop::collection::vec(0usize..12, 1..80),
        crlf in prop::collection::vec(any::<bool>(), 1..4),
    ) {
        let reports: Value = serde_json::from_str(&rampart_core::testdata::read("shadowserver/report_schema/reports.json")).unwrap();
        let header: Vec<&str> = reports["scan_dns"]["fields"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
        let compiled = Schema::builtin().report("scan_dns").unwrap().compile(&header).unwrap().with_raw(false);
        let quote = |v: &str| format!("\"{}\"", v.replace('"', "\"\""));
        let lines: Vec<String> = rows.iter().map(|row| row.iter().take(header.len()).map(|v| quote(v)).collect::<Vec<_>>().join(",")).collect();
        let header_line = header.iter().map(|h| quote(h)).collect::<Vec<_>>().join(",");
        compare(compiled, &header_line, &body_of(&lines, &order, &crlf), "repeated random rows");
    }
}
