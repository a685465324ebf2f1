//! Rows written straight to JSON ([`rampart_pipeline::direct`]) against rows made into events
//! first: the same lines byte for byte, the same fingerprints, duplicates, routing, counts,
//! quarantined rows and notification directives. A batch with rules takes the event path (a
//! rule set with no statements changes nothing), so the two are compared through the engine
//! as `rampart ingest` runs it.

use proptest::prelude::*;
use rampart_core::constituency::prefix::IpPrefix;
use rampart_core::constituency::resolve::{AssetKind, AssetRecord, AssetSource, ConstituencyIndex, RoutingRow};
use rampart_core::testdata;
use rampart_pipeline::engine::{process_batch, BatchInput, BatchOutput, FingerprintSet, Scratch, Stages};
use rampart_pipeline::experts::DedupeKeys;
use rampart_pipeline::rules::{self, RuleSet};
use rampart_pipeline::shadowserver::{CompiledReport, CsvReportRows, Schema};
use serde_json::Value;
use uuid::Uuid;

/// Two organisations holding half the IPv4 space each (one of them also a smaller prefix
/// of the other's half, so some addresses tie), a third holding AS 64496 (which routes only
/// the addresses the others do not hold, by the AS number a feed gives), and a routing table
/// with AS numbers and countries for most of the IPv4 space.
pub(crate) fn index() -> ConstituencyIndex {
    let asset = |org: u128, value: &str| AssetRecord {
        id: Uuid::now_v7(),
        org_id: Uuid::from_u128(org),
        kind: AssetKind::Ipv4Prefix,
        value: value.into(),
        include_subdomains: false,
        source: AssetSource::Manual,
        valid_from: None,
        valid_until: None,
    };
    let by_asn = AssetRecord { kind: AssetKind::Asn, ..asset(3, "64496") };
    let assets = [asset(1, "0.0.0.0/1"), asset(2, "128.0.0.0/1"), asset(1, "192.0.2.0/24"), asset(2, "192.0.2.0/24"), by_asn];
    let route = |prefix: &str, asn: u32, cc: &str| RoutingRow {
        prefix: IpPrefix::parse(prefix).unwrap(),
        asn: Some(asn),
        country: Some(cc.into()),
    };
    let routing = vec![route("0.0.0.0/2", 3462, "TW"), route("128.0.0.0/2", 64500, "AT"), route("192.0.0.0/8", 64501, "DE")];
    ConstituencyIndex::build(&assets, routing, Default::default(), "TW", chrono::Utc::now())
}

/// The `scan_dns` report with its full header, without `raw`.
pub(crate) fn scan_dns() -> CsvReportRows {
    let reports: Value = serde_json::from_str(&rampart_core::testdata::read("shadowserver/report_schema/reports.json")).unwrap();
    let header: Vec<&str> = reports["scan_dns"]["fields"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    let report = Schema::builtin().report("scan_dns").unwrap();
    CsvReportRows { report: report.compile(&header).unwrap().with_raw(false), header_line: header.join(",") }
}

/// The parts of a batch's output that must agree.
pub(crate) fn summary(out: &BatchOutput) -> String {
    let mut tally: Vec<_> = out.tally.iter().collect();
    tally.sort();
    format!(
        "{}\nfingerprints {:?}\ncounts {:?}\nquarantined {:?}\nnotify {:?}\ntally {:?}\noutputs {:?} incidents {:?}",
        String::from_utf8_lossy(&out.jsonl.contiguous()),
        out.new_fingerprints,
        out.counts,
        out.quarantined,
        out.notify,
        tally,
        out.routed_outputs,
        out.incidents
    )
}

/// Runs `body` through the engine written directly and through events, with and without a
/// run's feed name, on one and on two threads; fails on the first difference. Returns the
/// number of events written.
pub(crate) fn compare(report: CompiledReport, header_line: &str, body: &str, what: &str) -> u64 {
    let parser = CsvReportRows { report, header_line: header_line.to_string() };
    let index = index();
    let keys = DedupeKeys::default();
    let no_rules: RuleSet = rules::compile("# nothing\n").unwrap();
    let mut written = 0;
    for feed_name in [None, Some("Run-Feed")] {
        for threads in [1, 2] {
            let run = |rules: Option<&RuleSet>| {
                let stages = Stages {
                    index: &index,
                    rules,
                    dedupe: &keys,
                    feed_name,
                    observation_time: "2026-11-30T12:00:00+00:00",
                    notify_all: true,
                    warninglists: None,
                };
                let mut seen = FingerprintSet::default();
                let mut scratch = Scratch::default();
                // Twice: the second batch finds every event of the first.
                let first = process_batch(
                    BatchInput::Csv { parser: &parser, text: body, first_line: 1 },
                    &stages,
                    threads,
                    &mut seen,
                    &mut scratch,
                );
                let again = process_batch(
                    BatchInput::Csv { parser: &parser, text: body, first_line: 1 },
                    &stages,
                    threads,
                    &mut seen,
                    &mut scratch,
                );
                (summary(&first), summary(&again), first.counts.written)
            };
            let (direct, through_events) = (run(None), run(Some(&no_rules)));
            assert_eq!(direct.0, through_events.0, "{what}: feed name {feed_name:?}, {threads} thread(s)");
            assert_eq!(direct.1, through_events.1, "{what}: second batch, feed name {feed_name:?}, {threads} thread(s)");
            written = direct.2;
        }
    }
    written
}

#[test]
fn every_sample_report_gives_the_same_lines_written_directly() {
    let (mut reports, mut events) = (0, 0);
    for sample in super::samples::csv_samples() {
        let records = sample.records();
        let header: Vec<&str> = records[0].iter().map(String::as_str).collect();
        let Ok(compiled) = sample.report.compile(&header) else { continue };
        let (header_line, body) = sample.text.split_once('\n').unwrap();
        // With `raw` as IntelMQ writes it, and without, as the benchmark runs.
        for raw in [true, false] {
            events += compare(compiled.clone().with_raw(raw), header_line, body, &sample.name);
        }
        reports += 1;
    }
    assert!(reports >= 80, "only {reports} sample reports compared");
    assert!(events >= 1000, "only {events} events compared");
}

#[test]
fn a_row_that_sets_a_field_twice_is_made_as_an_event() {
    // Two columns for one field, and a column for `time.observation`, which the run sets: the
    // event keeps the last value where the first was set, which a line written in order
    // cannot. Rows that set each field once are still written directly.
    let schema = Schema::parse(
        r#"{"twice": {"feed_name": "Twice", "file_name": "twice",
            "required_fields": [["source.ip", "ip", "validate_ip"]],
            "optional_fields": [["extra.", "a"], ["extra.a", "b"], ["time.observation", "seen"]],
            "constant_fields": {"classification.type": "scanner"}}}"#,
    )
    .unwrap();
    let report = schema.report("twice").unwrap();
    let header_line = "ip,a,b,seen";
    let body = "192.0.2.1,x,y,\n10.0.0.1,,y,\n130.0.0.1,x,,2020-01-01 00:00:00\n130.0.0.2,x,,\n192.0.2.1,x,y,\n";
    let compiled = report.compile(&["ip", "a", "b", "seen"]).unwrap().with_raw(false);
    assert_eq!(compare(compiled, header_line, body, "fields set twice"), 4);
}

#[test]
fn constants_are_joined_unless_the_engine_reads_or_replaces_them() {
    // Constants are written as one joined piece. The piece stands in for them only when none
    // is a field the engine replaces (`feed.name`) or routes by (`source.asn`: an IPv6
    // address outside every prefix is routed by it); a constant for a field a column set too
    // makes the row an event.
    let schema = Schema::parse(
        r#"{"joined": {"feed_name": "Joined", "file_name": "joined",
              "required_fields": [["source.ip", "ip", "validate_ip"]],
              "optional_fields": [["extra.a", "a"]],
              "constant_fields": {"classification.type": "scanner", "protocol.application": "dns"}},
            "routed_by": {"feed_name": "Routed", "file_name": "routed_by",
              "required_fields": [["source.ip", "ip", "validate_ip"]],
              "optional_fields": [["extra.a", "a"]],
              "constant_fields": {"source.asn": 64496, "classification.type": "scanner"}},
            "named": {"feed_name": "Named", "file_name": "named",
              "required_fields": [["source.ip", "ip", "validate_ip"]],
              "optional_fields": [["extra.a", "a"]],
              "constant_fields": {"feed.name": "Constant", "classification.type": "scanner"}},
            "clash": {"feed_name": "Clash", "file_name": "clash",
              "required_fields": [["source.ip", "ip", "validate_ip"]],
              "optional_fields": [["extra.a", "a"]],
              "constant_fields": {"extra.a": "constant", "classification.type": "scanner"}}}"#,
    )
    .unwrap();
    let header_line = "ip,a";
    let body = "192.0.2.1,x\n10.0.0.1,\n2001:db8::1,y\n192.0.2.1,x\n";
    for (name, written) in [("joined", 3), ("routed_by", 3), ("named", 3), ("clash", 3)] {
        let compiled = schema.report(name).unwrap().compile(&["ip", "a"]).unwrap().with_raw(false);
        assert_eq!(compare(compiled, header_line, body, name), written, "{name}");
    }
}

#[test]
fn typed_values_are_copied_and_text_is_still_escaped() {
    // Addresses, ports, numbers and networks are copied into the line as they are; text and
    // host names with quotes and backslashes are escaped. Every row's values are new, so the
    // memo stops remembering them and every row writes them itself.
    let schema = Schema::parse(
        r#"{"typed": {"feed_name": "Typed", "file_name": "typed",
            "required_fields": [["source.ip", "ip", "validate_ip"]],
            "optional_fields": [["event_description.text", "text"], ["source.fqdn", "host"], ["source.port", "port", "convert_int"],
                                ["extra.n", "n", "convert_float"], ["extra.count", "count", "convert_int"], ["source.network", "net"],
                                ["destination.ip", "other"]],
            "constant_fields": {"classification.type": "scanner"}}}"#,
    )
    .unwrap();
    let header_line = "ip,text,host,port,n,count,net,other";
    let mut body = String::new();
    for i in 0..300u32 {
        let (a, b) = (i / 250, i % 250);
        body.push_str(&format!(
            "10.0.{a}.{b},\"say \"\"{i}\"\" \\ {i}\",h{i}\\x.example,{},{i}.5,{i},10.{a}.{b}.0/24,2001:db8::{i:x}\n",
            i % 65536
        ));
    }
    let compiled =
        schema.report("typed").unwrap().compile(&["ip", "text", "host", "port", "n", "count", "net", "other"]).unwrap().with_raw(false);
    assert_eq!(compare(compiled, header_line, &body, "typed values"), 300);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Rows drawn from a few values per column (bad ones too, and repeats, so that rows are
    /// quarantined, remembered and found again as duplicates).
    #[test]
    fn random_rows_give_the_same_lines_written_directly(
        report_type in prop::sample::select(vec!["scan_dns", "scan_http", "event4_sinkhole_http", "scan_exchange", "device_id", "compromised_website"]),
        rows in prop::collection::vec(prop::collection::vec(super::memo::value(), 40), 1..120),
    ) {
        let report = Schema::builtin().report(report_type).unwrap();
        let reports: Value = serde_json::from_str(&testdata::read("shadowserver/report_schema/reports.json")).unwrap();
        let header: Vec<&str> = reports[report_type]["fields"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
        let compiled = report.compile(&header).unwrap().with_raw(false);
        let quote = |v: &str| format!("\"{}\"", v.replace('"', "\"\""));
        let header_line = header.iter().map(|h| quote(h)).collect::<Vec<_>>().join(",");
        let mut body = String::new();
        for row in rows {
            let cells: Vec<String> = row.iter().take(header.len()).map(|v| quote(v)).collect();
            body.push_str(&cells.join(","));
            body.push('\n');
        }
        compare(compiled, &header_line, &body, report_type);
    }
}
