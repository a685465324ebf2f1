//! A batch that hands its lines on as they gather ([`process_batch_streaming`]) against one
//! that holds them: the same lines in the same order, and the same fingerprints, counts,
//! quarantined rows and tally. Only a batch that runs alone without rules hands lines on,
//! and a sink that fails stops the batch.

use super::direct::{index, scan_dns, summary};
use rampart_core::constituency::resolve::ConstituencyIndex;
use rampart_pipeline::engine::{
    process_batch, process_batch_streaming, BatchInput, BatchOutput, FingerprintSet, Scratch, Stages, STREAM_BYTES,
};
use rampart_pipeline::experts::DedupeKeys;
use rampart_pipeline::rules::{self, RuleSet};
use rampart_pipeline::shadowserver::CsvReportRows;

/// `rows` rows of the report: every tenth an exact repeat of an earlier one, every five
/// hundredth not a row of the report at all.
fn body(parser: &CsvReportRows, rows: usize) -> String {
    let header: Vec<&str> = parser.header_line.split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let mut lines: Vec<String> = Vec::new();
    for i in 0..rows {
        if i % 10 == 9 {
            lines.push(lines[i / 2].clone());
            continue;
        }
        if i % 500 == 250 {
            lines.push("\"not\",\"a\",\"row\",\"of\",\"this\",\"report\",\"at\",\"all\"".repeat(6));
            continue;
        }
        let mut cells = vec![String::new(); header.len()];
        cells[column("timestamp")] = format!("\"2026-11-29 {:02}:{:02}:00\"", i / 60 % 24, i % 60);
        cells[column("ip")] = format!("\"{}.{}.{}.{}\"", 1 + i % 200, i / 256 % 256, i % 256, i % 7);
        cells[column("protocol")] = "\"udp\"".into();
        cells[column("port")] = "53".into();
        cells[column("hostname")] = format!("\"host-{i}.example.net\"");
        cells[column("tag")] = "\"openresolver\"".into();
        cells[column("dns_version")] = format!("\"BIND 9.{}\"", i % 17);
        cells[column("city")] = ["\"TAIPEI\"", "\"TAINAN\"", "\"BANQIAO\""][i % 3].into();
        lines.push(cells.join(","));
    }
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// The stages of these tests: no feed name, no notification, no warninglists.
fn stages<'a>(index: &'a ConstituencyIndex, keys: &'a DedupeKeys, rules: Option<&'a RuleSet>) -> Stages<'a> {
    Stages {
        index,
        rules,
        dedupe: keys,
        feed_name: None,
        observation_time: "2026-11-30T12:00:00+00:00",
        notify_all: false,
        warninglists: None,
    }
}

/// Runs the batch holding its lines, and handing them on; gives both outputs with the
/// lines handed on, in the order handed.
fn both(parser: &CsvReportRows, text: &str, threads: usize, rules: Option<&RuleSet>) -> (BatchOutput, BatchOutput, Vec<Vec<u8>>) {
    let (index, keys) = (index(), DedupeKeys::default());
    let stages = stages(&index, &keys, rules);
    let held = process_batch(
        BatchInput::Csv { parser, text, first_line: 1 },
        &stages,
        threads,
        &mut FingerprintSet::default(),
        &mut Scratch::default(),
    );
    let mut handed: Vec<Vec<u8>> = Vec::new();
    let mut sink = |lines: &[u8]| {
        handed.push(lines.to_vec());
        Ok(())
    };
    let streamed = process_batch_streaming(
        BatchInput::Csv { parser, text, first_line: 1 },
        &stages,
        threads,
        &mut FingerprintSet::default(),
        &mut Scratch::default(),
        Some(&mut sink),
    )
    .unwrap();
    (held, streamed, handed)
}

#[test]
fn a_batch_run_alone_hands_on_the_lines_a_held_batch_keeps() {
    let parser = scan_dns();
    let text = body(&parser, 6000);
    let (held, streamed, handed) = both(&parser, &text, 1, None);
    assert!(held.jsonl.len() > 2 * STREAM_BYTES, "the batch makes {} bytes of lines", held.jsonl.len());
    assert!(handed.len() >= 2, "handed on {} times", handed.len());
    for lines in &handed {
        assert!(lines.len() >= STREAM_BYTES && lines.ends_with(b"\n"), "whole lines, at least {STREAM_BYTES} bytes at a time");
    }
    assert!(streamed.jsonl.len() < STREAM_BYTES, "only the last lines are kept");
    let mut all: Vec<u8> = handed.concat();
    all.extend_from_slice(&streamed.jsonl.contiguous());
    assert_eq!(String::from_utf8(all).unwrap(), String::from_utf8(held.jsonl.contiguous().into_owned()).unwrap());
    // Everything else the batch gives is the same.
    let rest = |out: &BatchOutput| summary(out).split_once("\nfingerprints").map(|(_, rest)| rest.to_string()).unwrap();
    assert_eq!(rest(&streamed), rest(&held));
    assert_eq!((held.counts.duplicates, held.counts.quarantined), (600, 12), "{:?}", held.counts);

    // Its lines, read back as IntelMQ JSON lines, are handed on the same way.
    let lines = String::from_utf8(held.jsonl.contiguous().into_owned()).unwrap();
    let (index, keys) = (index(), DedupeKeys::default());
    let stages = stages(&index, &keys, None);
    let held_again = process_batch(
        BatchInput::JsonLines { text: &lines, first_line: 0 },
        &stages,
        1,
        &mut FingerprintSet::default(),
        &mut Scratch::default(),
    );
    let mut handed_again: Vec<u8> = Vec::new();
    let mut times = 0;
    let mut sink = |lines: &[u8]| {
        handed_again.extend_from_slice(lines);
        times += 1;
        Ok(())
    };
    let streamed_again = process_batch_streaming(
        BatchInput::JsonLines { text: &lines, first_line: 0 },
        &stages,
        1,
        &mut FingerprintSet::default(),
        &mut Scratch::default(),
        Some(&mut sink),
    )
    .unwrap();
    assert!(times >= 2);
    handed_again.extend_from_slice(&streamed_again.jsonl.contiguous());
    assert_eq!(handed_again, held_again.jsonl.contiguous().into_owned());
    assert_eq!(streamed_again.counts, held_again.counts);
}

#[test]
fn batches_beside_each_other_or_with_rules_hold_their_lines() {
    let parser = scan_dns();
    let text = body(&parser, 4000);
    // Pieces beside each other may repeat each other's events; rules' named outputs copy lines.
    let no_rules: RuleSet = rules::compile("# nothing\n").unwrap();
    for (threads, rules) in [(2, None), (1, Some(&no_rules))] {
        let (held, streamed, handed) = both(&parser, &text, threads, rules);
        assert!(handed.is_empty(), "{threads} thread(s), rules {}", rules.is_some());
        assert_eq!(summary(&streamed), summary(&held));
    }
}

#[test]
fn a_sink_that_fails_stops_the_batch() {
    let parser = scan_dns();
    let text = body(&parser, 6000);
    let (index, keys) = (index(), DedupeKeys::default());
    let stages = stages(&index, &keys, None);
    let mut calls = 0;
    let mut sink = |_: &[u8]| {
        calls += 1;
        Err(std::io::Error::new(std::io::ErrorKind::StorageFull, "disk full"))
    };
    let mut seen = FingerprintSet::default();
    let failed = process_batch_streaming(
        BatchInput::Csv { parser: &parser, text: &text, first_line: 1 },
        &stages,
        1,
        &mut seen,
        &mut Scratch::default(),
        Some(&mut sink),
    );
    assert_eq!(failed.err().map(|e| e.kind()), Some(std::io::ErrorKind::StorageFull));
    assert_eq!(calls, 1, "no row is read after the sink failed");
}
