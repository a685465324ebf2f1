//! The batch engine alone, in memory, on one thread: what `rampart ingest` spends on a
//! Shadowserver report once the file is read and before anything is stored. For
//! profiling (`perf record`) and for comparing changes to the engine; the benchmark that
//! counts is `bench/pipeline-vs-intelmq/run.sh`.
//!
//!   cargo run --release -p rampart-bench-pipeline-engine -- REPORT.csv ROUTING.tsv [--repeat N] [--threads N] [--stage S] [--batch-kib K]
//!
//! The inputs are what `bench/pipeline-vs-intelmq/generate.py` writes. `--stage` stops each
//! row after one step, one thread, no batch merge: `csv` (records read), `parse` (events
//! filled), `route` (taxonomy and routing too), `fingerprint` or `json` (route, then that
//! one); the differences between their times are what each step costs.

use rampart_core::constituency::import_routing::parse_network_asn_cc;
use rampart_core::constituency::resolve::{ConstituencyIndex, RoutingRow};
use rampart_pipeline::csv::RecordInfo;
use rampart_pipeline::engine::{self, BatchInput, FingerprintSet, RowParser, Scratch, Stages};
use rampart_pipeline::event::Event;
use rampart_pipeline::experts::DedupeKeys;
use rampart_pipeline::memo::{MemoArena, RowMemo};
use rampart_pipeline::shadowserver::{CsvReportRows, Schema};
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1));
    let value_of = |name: &str| flag(name).and_then(|v| v.parse::<usize>().ok());
    let (Some(csv_path), Some(routing_path)) = (args.first(), args.get(1)) else {
        eprintln!("usage: rampart-bench-pipeline-engine REPORT.csv ROUTING.tsv [--repeat N] [--threads N] [--stage S] [--batch-kib K]");
        return ExitCode::from(2);
    };
    let repeat = value_of("--repeat").unwrap_or(10).max(1);
    let threads = value_of("--threads").unwrap_or(1).max(1);
    let text = std::fs::read_to_string(csv_path).expect("reading the report");
    let routing_text = std::fs::read_to_string(routing_path).expect("reading the routing table");
    let routing: Vec<RoutingRow> = parse_network_asn_cc(&routing_text).rows.into_iter().map(RoutingRow::from).collect();
    let index = ConstituencyIndex::build(&[], routing, Default::default(), "TW", chrono::Utc::now());

    let (header, body) = text.split_once('\n').expect("a header line");
    let columns: Vec<&str> = header.split(',').map(|c| c.trim_matches('"')).collect();
    let file_name = std::path::Path::new(csv_path).file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let schema = Schema::builtin();
    let report = schema.report_for_file_name(file_name).expect("a Shadowserver report type in the file name");
    let parser =
        CsvReportRows { report: report.compile(&columns).expect("the report compiles").with_raw(false), header_line: header.to_string() };
    let keys = DedupeKeys::default();
    let stages = Stages {
        index: &index,
        rules: None,
        dedupe: &keys,
        feed_name: None,
        observation_time: "2026-11-30T00:00:00+00:00",
        notify_all: false,
        warninglists: None,
    };

    // Batches cut at record ends, of the size `rampart ingest` reads, or --batch-kib.
    let batch_bytes = match value_of("--batch-kib") {
        Some(kib) => kib.max(1) << 10,
        None => engine::batch_bytes_for(engine::streams(threads, &stages)),
    };
    let mut batches = Vec::new();
    let (mut rest, mut line) = (body, 1usize);
    while !rest.is_empty() {
        let want = rest.len().min(batch_bytes);
        let cut = if want == rest.len() { want } else { engine::complete_records(&rest.as_bytes()[..want]) };
        batches.push((line, &rest[..cut]));
        line += rampart_pipeline::csv::count_newlines(&rest.as_bytes()[..cut]);
        rest = &rest[cut..];
    }

    let rows = body.lines().filter(|l| !l.is_empty()).count();
    if let Some(stage) = flag("--stage") {
        let Some(stage) = Stage::parse(stage) else {
            eprintln!("--stage: one of csv, parse, route, fingerprint, json");
            return ExitCode::from(2);
        };
        let best = (0..repeat).map(|_| run_stage(stage, &batches, &parser, &index, &keys)).fold(f64::MAX, f64::min);
        println!("{rows} rows up to {stage:?}; best of {repeat}: {best:.4} s = {:.0} rows/s on 1 thread", rows as f64 / best);
        return ExitCode::SUCCESS;
    }
    let mut best = f64::MAX;
    let mut written = 0;
    for _ in 0..repeat {
        let mut seen = FingerprintSet::default();
        let mut scratch = Scratch::default();
        let mut out_bytes = 0usize;
        written = 0;
        let started = Instant::now();
        for (first_line, batch) in &batches {
            // Lines handed on are counted, as `rampart ingest` writes them out.
            let mut handed = 0usize;
            let mut sink = |lines: &[u8]| {
                handed += lines.len();
                Ok(())
            };
            let out = engine::process_batch_streaming(
                BatchInput::Csv { parser: &parser, text: batch, first_line: *first_line },
                &stages,
                threads,
                &mut seen,
                &mut scratch,
                Some(&mut sink),
            )
            .expect("counting lines does not fail");
            out_bytes += handed + out.jsonl.len();
            written += out.counts.written;
            scratch.recycle(out.jsonl);
        }
        let seconds = started.elapsed().as_secs_f64();
        best = best.min(seconds);
        eprintln!("{seconds:.4} s, {out_bytes} bytes out");
    }
    println!(
        "{rows} rows, {written} events written; best of {repeat}: {best:.4} s = {:.0} rows/s on {threads} thread(s)",
        rows as f64 / best
    );
    ExitCode::SUCCESS
}

/// Where `--stage` stops each row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Csv,
    Parse,
    Route,
    Fingerprint,
    Json,
}

impl Stage {
    fn parse(name: &str) -> Option<Stage> {
        Some(match name {
            "csv" => Stage::Csv,
            "parse" => Stage::Parse,
            "route" => Stage::Route,
            "fingerprint" => Stage::Fingerprint,
            "json" => Stage::Json,
            _ => return None,
        })
    }
}

/// Runs every row up to `stage`; returns the seconds it took.
fn run_stage(stage: Stage, batches: &[(usize, &str)], parser: &CsvReportRows, index: &ConstituencyIndex, keys: &DedupeKeys) -> f64 {
    let started = Instant::now();
    let (mut buf, mut json) = (String::new(), Vec::with_capacity(1 << 16));
    // As the engine does: what the parser remembers lasts one batch.
    let mut arena = MemoArena::default();
    // Folded into the result so that no step can be left out as unused.
    let mut check = 0usize;
    for (first_line, batch) in batches {
        arena.clear();
        let mut memo = RowMemo::new(&arena);
        let (mut cells, mut event) = (Vec::new(), Event::new());
        let mut reader = rampart_pipeline::csv::CsvReader::new(batch);
        while let Some(Ok(info)) = reader.next_record(&mut cells) {
            check += cells.len();
            if stage == Stage::Csv {
                continue;
            }
            event.clear();
            let _ = parser.parse_row_with_memo(&cells, RecordInfo { line: first_line + info.line, raw: info.raw }, &mut event, &mut memo);
            check += event.len();
            if stage == Stage::Parse {
                continue;
            }
            rampart_pipeline::experts::fill_taxonomy(&mut event);
            check += usize::from(rampart_pipeline::experts::enrich_and_route(&mut event, index, &mut buf).tie);
            match stage {
                Stage::Fingerprint => check += keys.fingerprint(&event) as usize & 1,
                Stage::Json => {
                    json.clear();
                    event.write_intelmq_json(&mut json);
                    check += json.len();
                }
                _ => {}
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    eprintln!("{seconds:.4} s ({check})");
    seconds
}
