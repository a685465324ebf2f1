//! The Shadowserver parser against IntelMQ's own expectations.
//!
//! `shared/testdata/shadowserver` holds the sample reports of IntelMQ 3.2.1 and the events
//! IntelMQ's tests expect from them (`expected/*.json`, 95 files). IntelMQ 3.2.1 mapped columns
//! with its hard-coded `_config.py`; Rampart maps them with Shadowserver's 2026 schema, as
//! IntelMQ ≥ 3.3 does. Where the schema has moved on since, the output differs. Every file is
//! parsed and every expected event compared field by field (without `time.observation`); the
//! differences the schema explains are listed in [`DIFFERENCES`] and [`REPORT_DIFFERENCES`]
//! and everything else must be equal. A listed difference that no longer occurs fails the
//! test too, so the table cannot rot.

use rampart_core::testdata;
use rampart_pipeline::csv::CsvReader;
use rampart_pipeline::event::Event;
use rampart_pipeline::shadowserver::{
    parse_json_rows, report_type_from_file_name, Options, ParseError, RowError, RowProblem, Schema, ShadowserverParser,
};
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};

/// How the 2026 schema's event differs from IntelMQ 3.2.1's in one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Difference {
    /// The value IntelMQ 3.2.1 wrote under this field is now written under another one (same
    /// text; the JSON type may differ).
    RenamedTo(&'static str),
    /// IntelMQ 3.2.1 wrote this field; the 2026 schema writes nothing there for the sample.
    NotInSchema2026,
    /// The 2026 schema writes this field; IntelMQ 3.2.1 did not.
    NewIn2026,
    /// Both write the field, with different values.
    ValueChanged { reason: &'static str },
    /// The 2026 schema no longer maps the column, so its text passes through unconverted as
    /// `extra.<column>` (IntelMQ 3.2.1 converted it, or dropped it when zero).
    PassThroughText,
}

use Difference::{NewIn2026, NotInSchema2026, PassThroughText, RenamedTo, ValueChanged};

impl Difference {
    fn describe(self) -> String {
        match self {
            RenamedTo(new) => format!("renamed to {new}"),
            NotInSchema2026 => "not in the 2026 schema".into(),
            NewIn2026 => "new in the 2026 schema".into(),
            ValueChanged { reason } => format!("value changed: {reason}"),
            PassThroughText => "passes through as text".into(),
        }
    }
}

/// A report type the 2026 schema cannot parse as IntelMQ 3.2.1 did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReportDifference {
    /// The report type is gone from the schema.
    NotInSchema2026,
    /// The schema requires a column the 3.2.1 sample does not have.
    RequiredColumnMissing(&'static str),
}

const REPORT_DIFFERENCES: &[(&str, ReportDifference)] = &[
    ("phish_url", ReportDifference::NotInSchema2026),
    ("malware_url", ReportDifference::RequiredColumnMissing("port")),
    ("sandbox_url", ReportDifference::RequiredColumnMissing("port")),
];

/// Report types whose `sic` column (US Standard Industrial Classification) the 2026 schema
/// no longer maps: 3.2.1 converted it with `invalidate_zero` to `extra.sic` (an integer, or
/// nothing for 0); now the text passes through.
const SIC_PASSES_THROUGH: &[&str] = &[
    "blocklist",
    "compromised_website",
    "population_http_proxy",
    "scan_adb",
    "scan_afp",
    "scan_ard",
    "scan_chargen",
    "scan_cisco_smart_install",
    "scan_coap",
    "scan_couchdb",
    "scan_cwmp",
    "scan_db2",
    "scan_ddos_middlebox",
    "scan_dns",
    "scan_docker",
    "scan_dvr_dhcpdiscover",
    "scan_elasticsearch",
    "scan_ftp",
    "scan_hadoop",
    "scan_http_proxy",
    "scan_http_vulnerable",
    "scan_ics",
    "scan_ipmi",
    "scan_ipp",
    "scan_isakmp",
    "scan_kubernetes",
    "scan_ldap_tcp",
    "scan_ldap_udp",
    "scan_mdns",
    "scan_memcached",
    "scan_mongodb",
    "scan_mssql",
    "scan_mysql",
    "scan_nat_pmp",
    "scan_netbios",
    "scan_netis_router",
    "scan_ntp",
    "scan_ntpmonitor",
    "scan_portmapper",
    "scan_postgres",
    "scan_qotd",
    "scan_rdp",
    "scan_rdpeudp",
    "scan_redis",
    "scan_rsync",
    "scan_slp",
    "scan_smb",
    "scan_snmp",
    "scan_socks",
    "scan_ssdp",
    "scan_ssl_freak",
    "scan_ssl_poodle",
    "scan_stun",
    "scan_telnet",
    "scan_tftp",
    "scan_ubiquiti",
    "scan_vnc",
    "scan_ws_discovery",
    "scan_xdmcp",
];

/// The other known differences, by report type (the file-name token) and field.
const DIFFERENCES: &[(&str, &str, Difference)] = &[
    ("blocklist", "extra.source", RenamedTo("extra.source_name")),
    // The tag is no longer taken for the malware name.
    ("compromised_website", "malware.name", RenamedTo("extra.tag")),
    // Device details now go to IntelMQ's product.* fields (IEP009; certtools/intelmq#2670).
    ("device_id", "extra.device_model", RenamedTo("product.name")),
    ("device_id", "extra.device_vendor", RenamedTo("product.vendor")),
    ("event4_ddos_participant", "extra.device_model", RenamedTo("product.name")),
    ("event4_ddos_participant", "extra.device_vendor", RenamedTo("product.vendor")),
    ("event4_ip_spoofer", "malware.name", NewIn2026),
    // malware.name now comes from `infection`, and `family` goes to extra.family.
    ("event4_microsoft_sinkhole", "malware.name", RenamedTo("extra.family")),
    ("event4_microsoft_sinkhole", "extra.infection", RenamedTo("malware.name")),
    ("event4_microsoft_sinkhole_http", "extra.infection", RenamedTo("extra.family")),
    ("event4_sinkhole", "extra.infection", RenamedTo("extra.family")),
    ("event4_sinkhole_dns", "extra.infection", RenamedTo("extra.family")),
    ("event4_sinkhole_http", "classification.identifier", NotInSchema2026),
    ("event4_sinkhole_http", "malware.name", RenamedTo("extra.family")),
    ("event4_sinkhole_http_referer", "classification.identifier", NotInSchema2026),
    ("event4_sinkhole_http_referer", "classification.taxonomy", ValueChanged { reason: "other → malicious-code" }),
    ("event4_sinkhole_http_referer", "classification.type", ValueChanged { reason: "other → infected-system" }),
    ("event4_sinkhole_http_referer", "malware.name", RenamedTo("extra.family")),
    ("event4_sinkhole_http_referer", "extra.http_referer_ip", RenamedTo("source.ip")),
    ("event4_sinkhole_http_referer", "protocol.application", NewIn2026),
    ("event6_sinkhole_http", "classification.identifier", ValueChanged { reason: "now the infection (boaxxe), was 3ve" }),
    ("event6_sinkhole_http", "extra.infection", RenamedTo("extra.family")),
    ("population_http_proxy", "malware.name", RenamedTo("extra.tag")),
    // The schema reads `hostname` (into source.fqdn); the 3.2.1 sample has `host`.
    ("sandbox_conn", "destination.fqdn", RenamedTo("extra.host")),
    // The schema reads `request_type` and `md5`; the 3.2.1 sample has `type` and `md5hash`.
    ("sandbox_dns", "extra.dns_query_type", RenamedTo("extra.type")),
    ("sandbox_dns", "malware.hash.md5", RenamedTo("extra.md5hash")),
    ("scan_amqp", "extra.product", RenamedTo("product.name")),
    ("scan_amqp", "extra.product_version", RenamedTo("product.version")),
    ("scan_couchdb", "classification.taxonomy", ValueChanged { reason: "other → vulnerable" }),
    ("scan_couchdb", "classification.type", ValueChanged { reason: "other → vulnerable-system" }),
    ("scan_db2", "extra.size", PassThroughText),
    ("scan_ddos_middlebox", "extra.amplification", ValueChanged { reason: "convert_float now (2.0), convert_int in 3.2.1 (2)" }),
    ("scan_dvr_dhcpdiscover", "extra.device_model", RenamedTo("product.name")),
    ("scan_dvr_dhcpdiscover", "extra.device_vendor", RenamedTo("product.vendor")),
    ("scan_dvr_dhcpdiscover", "extra.device_version", RenamedTo("product.version")),
    ("scan_exchange", "product.vulnerabilities", NewIn2026),
    ("scan_exchange", "protocol.application", NewIn2026),
    ("scan_http", "extra.source.sic", RenamedTo("extra.sic")),
    ("scan_http_vulnerable", "classification.identifier", ValueChanged { reason: "accessible-http → vulnerable-http" }),
    ("scan_ics", "extra.device_model", RenamedTo("product.name")),
    ("scan_ics", "extra.device_vendor", RenamedTo("product.vendor")),
    ("scan_ics", "extra.device_version", RenamedTo("product.version")),
    ("scan_isakmp", "extra.exchange_type", RenamedTo("extra.isakmp_exchange_type")),
    ("scan_isakmp", "extra.spi_size", RenamedTo("extra.isakmp_spi_size")),
    ("scan_ldap_tcp", "extra.size", PassThroughText),
    ("scan_ldap_udp", "extra.size", PassThroughText),
    ("scan_mysql", "classification.taxonomy", ValueChanged { reason: "other → vulnerable" }),
    ("scan_mysql", "classification.type", ValueChanged { reason: "other → vulnerable-system" }),
    ("scan_ntpmonitor", "extra.size", PassThroughText),
    ("scan_postgres", "classification.taxonomy", ValueChanged { reason: "other → vulnerable" }),
    ("scan_postgres", "classification.type", ValueChanged { reason: "other → vulnerable-system" }),
    ("scan_rdp", "extra.bluekeep_vulnerable", PassThroughText),
    ("scan_rdp", "extra.cve20190708_vulnerable", PassThroughText),
    ("scan_smb", "extra.smb_implant", PassThroughText),
    ("scan_snmp", "extra.device_vendor", RenamedTo("product.vendor")),
    ("scan_ssh", "extra.device_vendor", RenamedTo("product.vendor")),
    ("scan_ssl_freak", "classification.type", ValueChanged { reason: "vulnerable-system → weak-crypto" }),
    ("scan_ssl_poodle", "classification.type", ValueChanged { reason: "vulnerable-system → weak-crypto" }),
    ("scan_tftp", "extra.size", PassThroughText),
    ("scan_ubiquiti", "extra.response_size", RenamedTo("extra.size")),
    ("scan_vnc", "extra.product", RenamedTo("product.name")),
    ("scan_xdmcp", "extra.size", PassThroughText),
    // `status` is a harmonised IntelMQ field; 3.2.1 put the column in extra.
    ("scan_xdmcp", "extra.status", RenamedTo("status")),
    ("special", "extra.status", RenamedTo("status")),
    ("special", "malware.name", RenamedTo("extra.tag")),
];

fn differences() -> Vec<(&'static str, &'static str, Difference)> {
    let mut all: Vec<_> = SIC_PASSES_THROUGH.iter().map(|token| (*token, "extra.sic", PassThroughText)).collect();
    all.extend_from_slice(DIFFERENCES);
    all
}

/// A JSON value as text, for comparing a value across a rename.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Takes the listed differences out of one expected/actual pair, checking each as it goes,
/// and counts those that occurred.
fn apply_differences(
    token: &str,
    table: &[(&'static str, &'static str, Difference)],
    expected: &mut Map<String, Value>,
    actual: &mut Map<String, Value>,
    occurred: &mut HashMap<(&'static str, &'static str), usize>,
    failures: &mut Vec<String>,
    context: &str,
) {
    let mut drop_expected: Vec<&str> = Vec::new();
    let mut drop_actual: Vec<&str> = Vec::new();
    for &(report, field, difference) in table {
        if report != token {
            continue;
        }
        let (e, a) = (expected.get(field), actual.get(field));
        let hit = match difference {
            RenamedTo(new) => match e {
                None => false,
                Some(e) => {
                    match actual.get(new) {
                        Some(renamed) if text(renamed) == text(e) => {}
                        other => failures.push(format!("{context}: {field} = {e} should now be {new}, which is {other:?}")),
                    }
                    drop_expected.push(field);
                    drop_actual.push(new);
                    true
                }
            },
            NotInSchema2026 => match e {
                None => false,
                Some(_) => {
                    if let Some(a) = a {
                        failures.push(format!("{context}: {field} is listed as gone in 2026 but is {a}"));
                    }
                    drop_expected.push(field);
                    true
                }
            },
            NewIn2026 => match a {
                None => false,
                Some(_) => {
                    if let Some(e) = e {
                        failures.push(format!("{context}: {field} is listed as new in 2026 but 3.2.1 had {e}"));
                    }
                    drop_actual.push(field);
                    true
                }
            },
            ValueChanged { .. } => match (e, a) {
                (Some(e), Some(a)) if e != a => {
                    drop_expected.push(field);
                    drop_actual.push(field);
                    true
                }
                _ => false,
            },
            PassThroughText => match a {
                None => false,
                Some(a) => {
                    if !a.is_string() {
                        failures.push(format!("{context}: {field} should pass through as text, is {a}"));
                    }
                    let differs = e != Some(a);
                    drop_expected.push(field);
                    drop_actual.push(field);
                    differs
                }
            },
        };
        if hit {
            *occurred.entry((report, field)).or_default() += 1;
        }
    }
    for field in drop_expected {
        expected.remove(field);
    }
    for field in drop_actual {
        actual.remove(field);
    }
}

/// The fields that differ, for a failure message.
fn describe(expected: &Map<String, Value>, actual: &Map<String, Value>) -> String {
    let keys: BTreeSet<&String> = expected.keys().chain(actual.keys()).collect();
    keys.into_iter()
        .filter(|k| expected.get(*k) != actual.get(*k))
        .map(|k| format!("    {k}: expected {:?}, got {:?}", expected.get(k), actual.get(k)))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One result per data record: the event as IntelMQ JSON, or the row error.
type Rows = Vec<Result<Map<String, Value>, String>>;

/// The rows of a CSV report.
fn csv_events(parser: &ShadowserverParser, file_name: &str, text: &str, options: &Options) -> Result<Rows, ParseError> {
    let mut out = Vec::new();
    parser.parse_csv(file_name, text, options, |row| out.push(row.map(Event::to_json).map_err(|e| e.to_string())))?;
    Ok(out)
}

/// The CSV as IntelMQ's test turns it into JSON: `json.dumps(list(csv.DictReader(f, restval="")))`.
fn csv_to_json(text: &str) -> String {
    let mut reader = CsvReader::new(text);
    let mut fields = Vec::new();
    reader.next_record(&mut fields).expect("a header").expect("a valid header");
    let header: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
    let mut objects = Vec::new();
    while let Some(record) = reader.next_record(&mut fields) {
        record.expect("valid CSV");
        let members: Vec<String> = header
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let value = fields.get(i).map_or("", |f| &**f);
                format!("{}: {}", serde_json::to_string(name).unwrap(), serde_json::to_string(value).unwrap())
            })
            .collect();
        objects.push(format!("{{{}}}", members.join(", ")));
    }
    format!("[{}]", objects.join(",\n"))
}

/// The rows of the CSV report turned into a JSON report.
fn json_events(parser: &ShadowserverParser, file_name: &str, text: &str, options: &Options) -> Result<Rows, ParseError> {
    let json = csv_to_json(text);
    let mut out = Vec::new();
    parser.parse_json(file_name, &json, options, |row| out.push(row.map(Event::to_json).map_err(|e| e.to_string())))?;
    Ok(out)
}

#[test]
fn every_expected_event_matches_intelmq_up_to_the_listed_schema_differences() {
    let dir = testdata::path("shadowserver/expected");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 95, "expected/*.json in {}", dir.display());

    let parser = ShadowserverParser::builtin();
    let table = differences();
    let mut occurred: HashMap<(&'static str, &'static str), usize> = table.iter().map(|(r, f, _)| ((*r, *f), 0)).collect();
    let mut report_differences_seen: BTreeSet<&str> = BTreeSet::new();
    let mut failures: Vec<String> = Vec::new();
    let mut report_types: BTreeSet<String> = BTreeSet::new();
    let mut compared = 0;

    for path in &files {
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let report = &doc["report"];
        let file_name = report["extra.file_name"].as_str().unwrap_or_else(|| panic!("{name}: no extra.file_name"));
        let token = report_type_from_file_name(file_name).unwrap_or_else(|| panic!("{name}: {file_name:?} has no report type"));
        report_types.insert(token.to_string());
        let input = doc["input_file"].as_str().unwrap();
        let text = testdata::read(&format!("shadowserver/testdata/{input}"));
        let options = Options {
            raw: true,
            report_feed_name: report.get("feed.name").and_then(Value::as_str).map(str::to_string),
            overwrite_feed_name: false,
        };

        if let Some(&(report_type, difference)) = REPORT_DIFFERENCES.iter().find(|(t, _)| *t == token) {
            let result = csv_events(&parser, file_name, &text, &options);
            match (difference, &result) {
                (ReportDifference::NotInSchema2026, Err(ParseError::UnknownReportType(t))) if t == token => {}
                (ReportDifference::RequiredColumnMissing(column), Err(ParseError::MissingRequiredColumn { column: c, .. }))
                    if c == column => {}
                _ => failures.push(format!("{name}: listed as {difference:?}, but parsing gave {result:?}")),
            }
            report_differences_seen.insert(report_type);
            continue;
        }

        let produced = match doc["input_format"].as_str() {
            Some("json") => json_events(&parser, file_name, &text, &options),
            _ => csv_events(&parser, file_name, &text, &options),
        };
        let produced = match produced {
            Ok(produced) => produced,
            Err(e) => {
                failures.push(format!("{name}: the report was refused: {e}"));
                continue;
            }
        };
        let records = doc["csv_data_records"].as_u64().unwrap() as usize;
        if produced.len() != records {
            failures.push(format!("{name}: {} data rows read, the file has {records}", produced.len()));
        }
        // IntelMQ's test_testdata runs every row and allows no error.
        for (i, row) in produced.iter().enumerate() {
            if let Err(e) = row {
                failures.push(format!("{name}: data row {}: {e}", i + 1));
            }
        }

        let events = doc["events"].as_array().unwrap();
        let lines = doc["event_source_line"].as_array().unwrap();
        assert_eq!(events.len(), lines.len(), "{name}");
        for (i, (expected, line)) in events.iter().zip(lines).enumerate() {
            let context = format!("{name} event {i}");
            let line = line.as_u64().unwrap() as usize;
            let Some(Ok(actual)) = produced.get(line - 1) else {
                failures.push(format!("{context}: no event for data line {line}"));
                continue;
            };
            let mut expected = expected.as_object().unwrap().clone();
            expected.remove("time.observation");
            let mut actual = actual.clone();
            apply_differences(token, &table, &mut expected, &mut actual, &mut occurred, &mut failures, &context);
            if expected != actual {
                failures.push(format!("{context} (data line {line}) differs:\n{}", describe(&expected, &actual)));
            }
            compared += 1;
        }
    }

    for (report, field, difference) in &table {
        if occurred.get(&(*report, *field)).copied().unwrap_or(0) == 0 {
            failures.push(format!(
                "the difference ({report:?}, {field:?}: {}) is listed but no longer occurs: remove it",
                difference.describe()
            ));
        }
    }
    for (report_type, difference) in REPORT_DIFFERENCES {
        if !report_differences_seen.contains(report_type) {
            failures.push(format!("the report difference ({report_type:?}, {difference:?}) is listed but no file has that report type"));
        }
    }
    for (report_type, _, _) in &table {
        if !report_types.contains(*report_type) {
            failures.push(format!("the difference table names {report_type:?}, which no expected file has"));
        }
    }

    let with_differences: BTreeSet<&str> = table.iter().map(|(r, _, _)| *r).chain(REPORT_DIFFERENCES.iter().map(|(r, _)| *r)).collect();
    let identical: Vec<&String> = report_types.iter().filter(|t| !with_differences.contains(t.as_str())).collect();
    println!(
        "{} expected files, {} report types, {compared} events compared; {} report types match IntelMQ 3.2.1 exactly, {} differ only as listed ({} of them only in extra.sic), {} cannot be parsed with the 2026 schema",
        files.len(),
        report_types.len(),
        identical.len(),
        report_types.len() - identical.len() - REPORT_DIFFERENCES.len(),
        SIC_PASSES_THROUGH.iter().filter(|t| !DIFFERENCES.iter().any(|(r, _, _)| r == *t)).count(),
        REPORT_DIFFERENCES.len(),
    );
    println!("identical: {identical:?}");
    assert!(failures.is_empty(), "{} problem(s):\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn the_report_feed_name_is_kept_unless_overwrite() {
    let parser = ShadowserverParser::builtin();
    let text = testdata::read("shadowserver/testdata/scan_dns.csv");
    let file_name = "2019-01-01-scan_dns-test-test.csv";
    for (overwrite, want) in [(false, "report feedname"), (true, "DNS-Open-Resolvers")] {
        let options = Options { raw: false, report_feed_name: Some("report feedname".into()), overwrite_feed_name: overwrite };
        let events = csv_events(&parser, file_name, &text, &options).unwrap();
        assert_eq!(events.len(), 100);
        for event in &events {
            let event = event.as_ref().unwrap();
            assert_eq!(event["feed.name"], want);
            assert!(!event.contains_key("raw"), "raw is off");
        }
    }
    let events = csv_events(&parser, file_name, &text, &Options::default()).unwrap();
    assert_eq!(events[0].as_ref().unwrap()["feed.name"], "DNS-Open-Resolvers", "no report feed name: the schema's");
}

#[test]
fn broken_reports_give_clear_errors() {
    let parser = ShadowserverParser::builtin();
    let options = Options::default();
    let ignore = |_: Result<&Event<'_>, RowError>| {};

    // Not a Shadowserver report at all: the first required column is named, with the feed.
    let err = parser.parse_csv("2019-01-01-scan_http-test-test.csv", "adasdasdasdasd\nadasdasdafgf", &options, ignore).unwrap_err();
    assert_eq!(err, ParseError::MissingRequiredColumn { column: "timestamp".into(), feed: "Accessible-HTTP".into() });
    assert!(err.to_string().contains("\"timestamp\"") && err.to_string().contains("\"Accessible-HTTP\""), "{err}");

    // Only the required columns: one event, and the optional ones (jarm …) are noted as missing.
    let mut events = Vec::new();
    let summary = parser
        .parse_csv("2019-01-01-scan_ftp-test-test.csv", "timestamp,ip,port\n2018-08-01T00:00:00+00,127.0.0.1,80", &options, |row| {
            events.push(row.unwrap().to_json())
        })
        .unwrap();
    assert_eq!((summary.rows, summary.events, summary.errors), (1, 1, 0));
    assert_eq!(summary.feed_name, "Accessible-FTP");
    assert!(summary.missing_optional_columns.iter().any(|c| c == "jarm"), "{:?}", summary.missing_optional_columns);
    assert_eq!(events[0]["time.source"], "2018-08-01T00:00:00+00:00");
    assert_eq!(events[0]["source.ip"], "127.0.0.1");
    assert_eq!(events[0]["source.port"], 80);
    assert_eq!(events[0]["classification.identifier"], "accessible-ftp");

    let err = parser.parse_csv("2019-01-01-some_string-test-test.csv", "timestamp\n", &options, ignore).unwrap_err();
    assert_eq!(err, ParseError::UnknownReportType("some_string".into()));
    assert!(err.to_string().contains("\"some_string\""), "{err}");

    let err = parser.parse_csv("2020.wrong-filename.csv", "timestamp\n", &options, ignore).unwrap_err();
    assert_eq!(err, ParseError::BadFileName("2020.wrong-filename.csv".into()));
    assert!(err.to_string().contains("2020.wrong-filename.csv"), "{err}");

    let err = parser.parse_csv("", "timestamp\n", &options, ignore).unwrap_err();
    assert!(matches!(err, ParseError::BadFileName(_)), "{err}");

    let err = parser.parse_csv("2019-01-01-scan_ftp-test-test.csv", "", &options, ignore).unwrap_err();
    assert_eq!(err, ParseError::NoHeader);
}

#[test]
fn bad_rows_are_reported_with_their_line_and_the_rest_goes_on() {
    let parser = ShadowserverParser::builtin();
    let text = "timestamp,ip,port\n\
                not a time,198.51.100.1,80\n\
                2018-08-01 00:00:00,198.51.100.2,eighty\n\
                2018-08-01 00:00:00,198.51.100.3,80,surplus\n\
                2018-08-01 00:00:00,198.51.100.5,80\n\
                \"2018-08-01 00:00:00,198.51.100.6,80\n";
    let mut good = Vec::new();
    let mut bad = Vec::new();
    let summary = parser
        .parse_csv("2019-01-01-scan_ftp-test-test.csv", text, &Options::default(), |row| match row {
            Ok(event) => good.push(event.to_json()),
            Err(e) => bad.push(e),
        })
        .unwrap();
    assert_eq!((summary.rows, summary.events, summary.errors), (5, 1, 4));
    assert_eq!(good[0]["source.ip"], "198.51.100.5");
    let lines: Vec<usize> = bad.iter().map(|e| e.line).collect();
    assert_eq!(lines, [2, 3, 4, 6]);
    assert!(
        matches!(&bad[0].problem, RowProblem::InvalidValue { column, field: "time.source", .. } if column == "timestamp"),
        "{}",
        bad[0]
    );
    assert!(bad[0].to_string().starts_with("line 2: column \"timestamp\""), "{}", bad[0]);
    assert!(matches!(&bad[1].problem, RowProblem::Conversion { column, converter: "convert_int", .. } if column == "port"), "{}", bad[1]);
    assert_eq!(bad[2].problem, RowProblem::TooManyColumns { expected: 3, found: 4 });
    assert_eq!(bad[3].problem, RowProblem::UnclosedQuote);
}

#[test]
fn one_parser_switches_report_type_per_file() {
    let parser = ShadowserverParser::builtin();
    let first_two_lines =
        |file: &str| testdata::read(&format!("shadowserver/testdata/{file}")).lines().take(2).collect::<Vec<_>>().join("\n");
    let mut feeds = Vec::new();
    for (file_name, csv) in [("2019-01-01-scan_ftp-test-test.csv", "scan_ftp.csv"), ("2019-01-01-blocklist-test-test.csv", "blocklist.csv")]
    {
        let text = first_two_lines(csv);
        let mut events = Vec::new();
        parser.parse_csv(file_name, &text, &Options::default(), |row| events.push(row.unwrap().to_json())).unwrap();
        assert_eq!(events.len(), 1, "{file_name}");
        feeds.push(events[0]["feed.name"].clone());
    }
    assert_eq!(feeds, ["Accessible-FTP", "Blocklist"]);
}

#[test]
fn a_newer_schema_can_be_loaded_at_run_time() {
    let schema = Schema::parse(
        r#"{
            "_meta": {"date_created": "2030-01-01T00:00:00Z", "change_log": ["Added scan_new."]},
            "scan_new": {
                "feed_name": "Accessible-New",
                "file_name": "scan_new",
                "constant_fields": {"classification.taxonomy": "vulnerable", "classification.type": "vulnerable-system", "classification.identifier": "accessible-new"},
                "required_fields": [["time.source", "timestamp", "add_UTC_to_timestamp"], ["source.ip", "ip", "validate_ip"]],
                "optional_fields": [["extra.", "flag", "convert_bool"], ["source.asn", "asn", "invalidate_zero"]]
            }
        }"#,
    )
    .unwrap();
    assert_eq!(schema.date_created(), Some("2030-01-01T00:00:00Z"));
    assert_eq!(schema.change_log(), ["Added scan_new."]);
    let parser = ShadowserverParser::new(schema);
    let mut events = Vec::new();
    parser
        .parse_csv(
            "2030-01-01-scan_new-x.csv",
            "timestamp,ip,flag,asn,other\n2030-01-01 12:00:00,2001:DB8::1,Y,64512,\n",
            &Options::default(),
            |row| events.push(row.unwrap().to_json()),
        )
        .unwrap();
    let event = &events[0];
    assert_eq!(event["feed.name"], "Accessible-New");
    assert_eq!(event["source.ip"], "2001:db8::1");
    assert_eq!(event["extra.flag"], true);
    assert_eq!(event["source.asn"], 64512);
    assert!(!event.contains_key("extra.other"), "empty leftovers are dropped");
    assert!(Schema::parse("{\"x\": 1}").is_err());
}

#[test]
fn json_reports_match_csv_reports() {
    let parser = ShadowserverParser::builtin();
    let text = testdata::read("shadowserver/testdata/scan_smb.csv");
    let from_csv = csv_events(&parser, "2019-01-01-scan_smb-test-geo.csv", &text, &Options { raw: false, ..Options::default() }).unwrap();
    let from_json =
        json_events(&parser, "2019-01-01-scan_smb-test-geo.json", &text, &Options { raw: false, ..Options::default() }).unwrap();
    assert_eq!(from_csv, from_json);
    let rows = parse_json_rows(&csv_to_json(&text)).unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows[0].raw().starts_with("[{\"timestamp\": \"2010-02-10 00:00:00\", \"ip\": "), "{}", rows[0].raw());
}

#[test]
fn every_report_type_compiles_for_the_columns_shadowserver_publishes() {
    // reports.json (same repository and commit as the schema): the CSV columns of each report type.
    let reports: Value = serde_json::from_str(&testdata::read("shadowserver/report_schema/reports.json")).unwrap();
    let reports = reports.as_object().unwrap();
    let schema = Schema::builtin();
    assert_eq!(reports.len(), schema.len());
    for (token, info) in reports {
        let report = schema.report(token).unwrap_or_else(|| panic!("{token}: not in the schema"));
        let columns: Vec<&str> = info["fields"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
        let compiled = report.compile(&columns).unwrap_or_else(|e| panic!("{token}: {e}"));
        assert!(compiled.missing_optional_columns().is_empty(), "{token}: {:?}", compiled.missing_optional_columns());
        // A row with only the required values, the rest empty or "0": every converter runs, none fails.
        for filler in ["", "0"] {
            let fields: Vec<std::borrow::Cow<'_, str>> = columns
                .iter()
                .map(|column| match *column {
                    "timestamp" => "2026-03-24 12:00:00",
                    "ip" | "src_ip" => "192.0.2.1",
                    "port" | "src_port" => "443",
                    _ => filler,
                })
                .map(std::borrow::Cow::Borrowed)
                .collect();
            let line = fields.join(",");
            let record = rampart_pipeline::csv::RecordInfo { line: 2, raw: &line };
            let mut event = Event::new();
            compiled
                .parse_row(&fields, record, compiled.raw_header(), &mut event)
                .unwrap_or_else(|e| panic!("{token} with {filler:?}: {e}"));
            let json = event.to_json();
            assert_eq!(json["time.source"], "2026-03-24T12:00:00+00:00", "{token}");
            assert_eq!(json["feed.name"], report.feed_name(), "{token}");
            assert!(json.contains_key("classification.taxonomy"), "{token}");
        }
    }
}
