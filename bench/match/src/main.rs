//! `bench/match`: the indicator matcher on one core.
//!
//! 1. **Lookups:** N indicators of mixed types (IPv4 addresses and networks, domains,
//!    URLs, e-mail addresses, SHA-256 and MD5 hashes) compiled from STIX patterns into
//!    one matcher; then observations of one object each (half of them hits, some through
//!    a network or a parent domain) are matched, on one thread.
//! 2. **STIX patterns:** P patterns of varied shapes (equality, AND on one object, OR
//!    across types, IN sets, networks, references, LIKE, observation AND) against
//!    observed data of one to three objects; observations per second.
//! 3. With `--sample DIR`: a sample of those patterns and observations as JSON for
//!    `stix2_matcher_pairs.py`, and Rampart's answer for each pattern × observation pair
//!    (by evaluating every pattern, not through the index) to check the reference against.
//!
//! Everything comes from a fixed seed, so runs are comparable.

use chrono::{DateTime, TimeZone, Utc};
use rampart_intel::matcher::{Compiled, Matcher, Scratch};
use rampart_intel::pattern::{Observation, Pattern};
use serde_json::{json, Value};
use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "usage: rampart-bench-match [--indicators N] [--lookups N] [--patterns N] [--observations N] [--sample DIR] [--sample-patterns N] [--sample-observations N]
  --indicators N          indicators in the lookup matcher (default 10,000,000)
  --lookups N             observations matched against them (default 10,000,000)
  --patterns N            STIX patterns of varied shapes (default 100,000)
  --observations N        observed data matched against the patterns (default 1,000,000)
  --sample DIR            write a sample and Rampart's answers for stix2_matcher_pairs.py
  --sample-patterns N     patterns in the sample (default 200)
  --sample-observations N observations in the sample (default 100)";

const LOOKUP_TARGET: f64 = 10_000_000.0;
const PATTERN_TARGET: f64 = 1_000_000.0;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn ip(n: u64) -> String {
    // Public-looking space, away from the reserved blocks.
    let v = 0x2D00_0000u32.wrapping_add((n as u32).wrapping_mul(2_654_435_761) % 0x9000_0000);
    format!("{}.{}.{}.{}", v >> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255)
}

fn domain(n: u64) -> String {
    format!("host{n}.example{}.tw", n % 97)
}

fn hash(n: u64, len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.push_str(&format!("{x:016x}"));
    }
    out.truncate(len);
    out
}

/// The i-th indicator of the lookup set: (pattern, the object that hits it).
fn indicator(i: u64) -> (String, Value) {
    match i % 20 {
        0..=7 => (format!("[ipv4-addr:value = '{}']", ip(i)), json!({"type": "ipv4-addr", "value": ip(i)})),
        8 => {
            let base = ip(i);
            let net = base.rsplit_once('.').map(|(a, _)| format!("{a}.0/24")).unwrap();
            let inside = base.rsplit_once('.').map(|(a, _)| format!("{a}.77")).unwrap();
            (format!("[ipv4-addr:value ISSUBSET '{net}']"), json!({"type": "ipv4-addr", "value": inside}))
        }
        9..=12 => (format!("[domain-name:value = '{}']", domain(i)), json!({"type": "domain-name", "value": format!("www.{}", domain(i))})),
        13..=14 => {
            let url = format!("http://{}/p/{i}", domain(i));
            (format!("[url:value = '{url}']"), json!({"type": "url", "value": url}))
        }
        15 => (
            format!("[email-addr:value = 'user{i}@{}']", domain(i)),
            json!({"type": "email-addr", "value": format!("user{i}@{}", domain(i))}),
        ),
        16..=18 => (format!("[file:hashes.'SHA-256' = '{}']", hash(i, 64)), json!({"type": "file", "hashes": {"SHA-256": hash(i, 64)}})),
        _ => (format!("[file:hashes.MD5 = '{}']", hash(i, 32)), json!({"type": "file", "hashes": {"MD5": hash(i, 32)}})),
    }
}

/// An object no indicator has (the misses).
fn miss(i: u64) -> Value {
    match i % 4 {
        0 => json!({"type": "ipv4-addr", "value": format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255)}),
        1 => json!({"type": "domain-name", "value": format!("clean{i}.example.org")}),
        2 => json!({"type": "url", "value": format!("https://clean.example.org/{i}")}),
        _ => json!({"type": "file", "hashes": {"SHA-256": hash(i ^ 0xFFFF_FFFF, 64)}}),
    }
}

fn observe(objects: Vec<Value>, at: DateTime<Utc>) -> Observation {
    Observation {
        first_observed: at,
        last_observed: at,
        objects: objects.into_iter().enumerate().map(|(i, o)| (i.to_string(), o)).collect(),
    }
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

fn lookups(indicators: u64, count: u64) -> f64 {
    let start = Instant::now();
    let compiled: Vec<Compiled<u64>> =
        (0..indicators).map(|i| Compiled { item: i, pattern: Pattern::parse(&indicator(i).0).unwrap() }).collect();
    let parsed = start.elapsed();
    let matcher = Matcher::build(compiled);
    let built = start.elapsed();
    println!(
        "lookup matcher: {indicators} indicators compiled in {:.1} s, indexed in {:.1} s; peak memory {:.0} MiB",
        parsed.as_secs_f64(),
        (built - parsed).as_secs_f64(),
        peak_rss_mib()
    );
    // A million distinct values, built before timing, used in turn.
    let mut rng = Rng(0x5EED_0001);
    let distinct = count.min(1_000_000);
    let values: Vec<(String, String, String, bool)> = (0..distinct)
        .map(|k| if k % 2 == 0 { (triple(&indicator(rng.below(indicators)).1), true) } else { (triple(&miss(k)), false) })
        .map(|((t, p, v), hit)| (t, p, v, hit))
        .collect();
    let mut scratch = Scratch::default();
    // Every expected hit is found, every miss is not (before the clock starts).
    for (t, p, v, hit) in &values {
        assert_eq!(!matcher.match_value(t, p, v, &mut scratch).is_empty(), *hit, "{t} {p} {v}");
    }
    let start = Instant::now();
    let mut found = 0usize;
    for k in 0..count {
        let (t, p, v, _) = &values[(k % distinct) as usize];
        found += black_box(matcher.match_value(black_box(t), black_box(p), black_box(v), &mut scratch)).len();
    }
    let seconds = start.elapsed().as_secs_f64();
    let single = count as f64 / seconds;
    println!("lookups, one value at a time: {count} in {seconds:.2} s on one thread: {single:.0} per second ({found} hits)");
    // In batches of 256, as `rampart match` looks up what it reads.
    let batch: Vec<Vec<(&str, &str, &str)>> =
        values.chunks(256).map(|c| c.iter().map(|(t, p, v, _)| (t.as_str(), p.as_str(), v.as_str())).collect()).collect();
    for (chunk, b) in values.chunks(256).zip(&batch) {
        let hits = matcher.match_values(b, &mut scratch);
        let expected = chunk.iter().filter(|x| x.3).count();
        let got: std::collections::BTreeSet<u32> = hits.iter().map(|h| h.0).collect();
        assert_eq!(got.len(), expected, "batch lookups agree with single ones");
    }
    let start = Instant::now();
    let mut found = 0usize;
    let mut done = 0u64;
    while done < count {
        for b in &batch {
            found += black_box(matcher.match_values(black_box(b), &mut scratch)).len();
            done += b.len() as u64;
            if done >= count {
                break;
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let rate = done as f64 / seconds;
    println!("lookups in batches of 256: {done} in {seconds:.2} s on one thread: {rate:.0} per second ({found} hits)");
    // The same values as one-object observations, through the full observation path.
    let now = Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
    let observations: Vec<Observation> = values
        .iter()
        .take(200_000)
        .map(|(t, p, v, _)| {
            let object = match p.split_once('.') {
                Some((outer, inner)) => json!({"type": t, outer: {inner: v}}),
                None => json!({"type": t, p.as_str(): v}),
            };
            observe(vec![object], now)
        })
        .collect();
    let start = Instant::now();
    let mut found = 0usize;
    for o in &observations {
        found += black_box(matcher.match_observation(black_box(o), &mut scratch)).len();
    }
    let seconds = start.elapsed().as_secs_f64();
    println!("  (as observations of one object: {:.0} per second, {found} hits)", observations.len() as f64 / seconds);
    rate
}

/// The one value of a one-object observation: (type, path, value).
fn triple(object: &Value) -> (String, String, String) {
    let t = object["type"].as_str().unwrap().to_string();
    match object.get("hashes").and_then(Value::as_object) {
        Some(h) => {
            let (name, v) = h.iter().next().unwrap();
            (t, format!("hashes.{name}"), v.as_str().unwrap().to_string())
        }
        None => (t, "value".into(), object["value"].as_str().unwrap().to_string()),
    }
}

/// The i-th pattern of the varied set, and an observation it matches.
fn varied(i: u64) -> (String, Vec<Value>) {
    let a = ip(i);
    let d = domain(i);
    match i % 10 {
        0..=2 => (format!("[ipv4-addr:value = '{a}']"), vec![json!({"type": "ipv4-addr", "value": a})]),
        3 => (format!("[domain-name:value = '{d}']"), vec![json!({"type": "domain-name", "value": d})]),
        4 => (
            format!("[file:hashes.'SHA-256' = '{}' AND file:size > 1000]", hash(i, 64)),
            vec![json!({"type": "file", "hashes": {"SHA-256": hash(i, 64)}, "size": 4096, "name": format!("f{i}.exe")})],
        ),
        5 => (
            format!("[network-traffic:dst_ref.value = '{a}' AND network-traffic:dst_port = {}]", 1000 + i % 5000),
            vec![
                json!({"type": "network-traffic", "id": format!("network-traffic--{:08x}-0000-4000-8000-000000000001", i as u32), "dst_ref": format!("ipv4-addr--{:08x}-0000-4000-8000-000000000002", i as u32), "dst_port": 1000 + i % 5000, "protocols": ["tcp"]}),
                json!({"type": "ipv4-addr", "id": format!("ipv4-addr--{:08x}-0000-4000-8000-000000000002", i as u32), "value": a}),
            ],
        ),
        6 => (format!("[url:value IN ('http://{d}/a', 'http://{d}/b')]"), vec![json!({"type": "url", "value": format!("http://{d}/b")})]),
        7 => {
            let net = a.rsplit_once('.').map(|(x, _)| format!("{x}.0/24")).unwrap();
            (format!("[ipv4-addr:value ISSUBSET '{net}']"), vec![json!({"type": "ipv4-addr", "value": a})])
        }
        8 => (
            format!("[email-addr:value = 'ceo{i}@{d}' OR domain-name:value = 'mail.{d}']"),
            vec![json!({"type": "domain-name", "value": format!("mail.{d}")})],
        ),
        _ => (
            format!("[file:name = 'f{i}.scr' AND file:size < 100000] AND [ipv4-addr:value = '{a}']"),
            vec![json!({"type": "file", "name": format!("f{i}.scr"), "size": 5000}), json!({"type": "ipv4-addr", "value": a})],
        ),
    }
}

/// Observed data for the pattern run: one in ten matches a pattern.
fn observed(k: u64, patterns: u64) -> Vec<Value> {
    if k.is_multiple_of(10) {
        varied((k / 10 * 7919) % patterns).1
    } else {
        let mut objects = vec![miss(k)];
        if k.is_multiple_of(3) {
            objects.push(json!({"type": "ipv4-addr", "value": format!("172.16.{}.{}", (k >> 8) & 255, k & 255)}));
        }
        objects
    }
}

fn stix_patterns(patterns: u64, count: u64) -> f64 {
    let at = Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
    let start = Instant::now();
    let compiled: Vec<Compiled<u64>> =
        (0..patterns).map(|i| Compiled { item: i, pattern: Pattern::parse(&varied(i).0).unwrap() }).collect();
    let matcher = Matcher::build(compiled);
    println!(
        "pattern matcher: {patterns} patterns compiled and indexed in {:.2} s ({} tried on everything)",
        start.elapsed().as_secs_f64(),
        matcher.unanchored()
    );
    let distinct = count.min(1_000_000);
    let observations: Vec<Observation> = (0..distinct).map(|k| observe(observed(k, patterns), at)).collect();
    let mut scratch = Scratch::default();
    let start = Instant::now();
    let mut hits = 0usize;
    for k in 0..count {
        hits += black_box(matcher.match_observation(black_box(&observations[(k % distinct) as usize]), &mut scratch)).len();
    }
    let seconds = start.elapsed().as_secs_f64();
    let rate = count as f64 / seconds;
    println!(
        "patterns: {count} observations against {patterns} patterns in {seconds:.2} s on one thread: {rate:.0} observations per second, \
         {:.3e} pattern x observation pairs per second ({hits} hits)",
        rate * patterns as f64
    );
    rate
}

/// Writes the sample for stix2-matcher and Rampart's answers, pair by pair.
fn sample(dir: &std::path::Path, patterns: u64, observations: u64, all_patterns: u64) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let at = Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
    // Patterns spread over the whole set; observations taken as the run does.
    let chosen: Vec<u64> = (0..patterns).map(|i| i * (all_patterns / patterns).max(1)).collect();
    let pattern_texts: Vec<String> = chosen.iter().map(|&i| varied(i).0).collect();
    let mut bundles = Vec::new();
    let mut ours = Vec::new();
    let compiled: Vec<Pattern> = pattern_texts.iter().map(|p| Pattern::parse(p).unwrap()).collect();
    for k in 0..observations {
        // Every other observation hits one of the sampled patterns.
        let objects = if k % 2 == 0 { varied(chosen[(k as usize / 2) % chosen.len()]).1 } else { observed(k * 10 + 1, all_patterns) };
        let observation = observe(objects.clone(), at);
        let mut with_ids: Vec<Value> = Vec::new();
        let mut refs = Vec::new();
        for (n, mut o) in objects.into_iter().enumerate() {
            if o.get("id").is_none() {
                let kind = o["type"].as_str().unwrap().to_string();
                o["id"] = json!(format!("{kind}--{:08x}-{:04x}-4000-8000-{:012x}", k as u32, n, k));
            }
            refs.push(o["id"].clone());
            with_ids.push(o);
        }
        let od = json!({
            "type": "observed-data", "spec_version": "2.1", "id": format!("observed-data--{:08x}-0000-4000-8000-{:012x}", k as u32, k),
            "created": "2026-11-30T00:00:00.000Z", "modified": "2026-11-30T00:00:00.000Z",
            "first_observed": "2026-11-30T00:00:00Z", "last_observed": "2026-11-30T00:00:00Z", "number_observed": 1, "object_refs": refs
        });
        let mut objects = vec![od];
        objects.extend(with_ids);
        bundles.push(json!({"type": "bundle", "id": format!("bundle--{:08x}-0000-4000-8000-{:012x}", k as u32, k), "objects": objects}));
        let one = std::slice::from_ref(&observation);
        ours.push(compiled.iter().map(|p| p.matches(one)).collect::<Vec<bool>>());
    }
    std::fs::write(dir.join("patterns.json"), serde_json::to_vec(&pattern_texts)?)?;
    std::fs::write(dir.join("observations.json"), serde_json::to_vec(&bundles)?)?;
    // ours[observation][pattern]
    std::fs::write(dir.join("rampart-answers.json"), serde_json::to_vec(&ours)?)?;
    println!("sample: {patterns} patterns x {observations} observations written to {}", dir.display());
    Ok(())
}

fn main() -> ExitCode {
    let mut indicators = 10_000_000u64;
    let mut lookups_n = 10_000_000u64;
    let mut patterns = 100_000u64;
    let mut observations = 1_000_000u64;
    let mut sample_dir = None;
    let mut sample_patterns = 200u64;
    let mut sample_observations = 100u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut number = |name: &str| -> Option<u64> {
            args.next().and_then(|v| v.replace(['_', ','], "").parse().ok()).or_else(|| {
                eprintln!("{name} needs a number\n{USAGE}");
                None
            })
        };
        match a.as_str() {
            "--indicators" => match number("--indicators") {
                Some(n) => indicators = n.max(1),
                None => return ExitCode::from(2),
            },
            "--lookups" => match number("--lookups") {
                Some(n) => lookups_n = n.max(1),
                None => return ExitCode::from(2),
            },
            "--patterns" => match number("--patterns") {
                Some(n) => patterns = n.max(10),
                None => return ExitCode::from(2),
            },
            "--observations" => match number("--observations") {
                Some(n) => observations = n.max(1),
                None => return ExitCode::from(2),
            },
            "--sample-patterns" => match number("--sample-patterns") {
                Some(n) => sample_patterns = n.max(1),
                None => return ExitCode::from(2),
            },
            "--sample-observations" => match number("--sample-observations") {
                Some(n) => sample_observations = n.max(1),
                None => return ExitCode::from(2),
            },
            "--sample" => match args.next() {
                Some(d) => sample_dir = Some(std::path::PathBuf::from(d)),
                None => {
                    eprintln!("{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("unknown argument {other}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    if let Some(dir) = &sample_dir {
        if let Err(e) = sample(dir, sample_patterns, sample_observations, patterns) {
            eprintln!("writing the sample: {e}");
            return ExitCode::FAILURE;
        }
    }
    let pattern_rate = stix_patterns(patterns, observations);
    let lookup_rate = lookups(indicators, lookups_n);
    println!(
        "target (lookups >= 10,000,000/s on one core against {indicators} indicators): {} ({lookup_rate:.0}/s)",
        if lookup_rate >= LOOKUP_TARGET { "met" } else { "not met" }
    );
    println!(
        "target (>= 1,000,000 observations/s on one core against {patterns} patterns): {} ({pattern_rate:.0}/s)",
        if pattern_rate >= PATTERN_TARGET { "met" } else { "not met" }
    );
    println!("rampart observations_per_second={pattern_rate:.0} patterns={patterns}");
    ExitCode::SUCCESS
}
