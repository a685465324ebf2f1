#![no_main]
//! Feed rows written straight to JSON (no rules, no warninglists) must come out as the events
//! the general path makes, whatever the bytes: the same lines, fingerprints, duplicates,
//! counts and quarantined rows. A rule set with no statements sends a batch the general way.
use rampart_core::constituency::resolve::ConstituencyIndex;
use rampart_pipeline::engine::{complete_records, process_batch, BatchInput, BatchOutput, FingerprintSet, Scratch, Stages};
use rampart_pipeline::experts::DedupeKeys;
use rampart_pipeline::rules::{self, RuleSet};
use rampart_pipeline::shadowserver::{CsvReportRows, Schema};
use std::sync::LazyLock;

const HEADER: &str = "\"timestamp\",\"ip\",\"protocol\",\"port\",\"hostname\",\"tag\",\"dns_version\",\"asn\",\"geo\",\"region\",\"city\",\"min_amplification\",\"p0f_genre\",\"p0f_detail\",\"naics\",\"sic\",\"sector\"";

struct Setup {
    parser: CsvReportRows,
    index: ConstituencyIndex,
    keys: DedupeKeys,
    no_rules: RuleSet,
}

static SETUP: LazyLock<Setup> = LazyLock::new(|| {
    let columns: Vec<&str> = HEADER.split(',').map(|c| c.trim_matches('"')).collect();
    let report = Schema::builtin().report("scan_dns").expect("scan_dns is in the schema");
    Setup {
        parser: CsvReportRows { report: report.compile(&columns).expect("the report compiles"), header_line: HEADER.to_string() },
        index: ConstituencyIndex::build(&[], Vec::new(), Default::default(), "TW", chrono::Utc::now()),
        keys: DedupeKeys::default(),
        no_rules: rules::compile("# nothing\n").expect("an empty rule set"),
    }
});

fn run(text: &str, rules: Option<&RuleSet>) -> BatchOutput {
    let setup = &*SETUP;
    let stages = Stages {
        index: &setup.index,
        rules,
        dedupe: &setup.keys,
        feed_name: None,
        observation_time: "2026-11-30T00:00:00+00:00",
        notify_all: false,
        warninglists: None,
    };
    let input = BatchInput::Csv { parser: &setup.parser, text, first_line: 1 };
    process_batch(input, &stages, 1, &mut FingerprintSet::default(), &mut Scratch::default())
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let text = &text[..complete_records(text.as_bytes())];
    let (direct, general) = (run(text, None), run(text, Some(&SETUP.no_rules)));
    assert_eq!(direct.jsonl, general.jsonl);
    assert_eq!(direct.new_fingerprints, general.new_fingerprints);
    assert_eq!(direct.counts, general.counts);
    assert_eq!(direct.quarantined, general.quarantined);
});
