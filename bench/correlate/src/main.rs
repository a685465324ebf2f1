//! `bench/correlate`: N attributes (default 10,000,000) correlated from scratch, timed,
//! with peak memory. Values repeat as they do in a real exchange: most values are seen
//! once, some in a few events, a few in very many (Zipf-like, s ≈ 1); events hold about
//! twenty attributes each; addresses, networks, domains with subdomains, URLs, e-mail
//! addresses and hashes. Generated from a fixed seed, before the clock starts.
//!
//! Usage: rampart-bench-correlate [--attributes N] [--cap N]

use rampart_intel::correlation::{Attribute, Correlation, Kind};
use std::process::ExitCode;
use std::time::Instant;

const USAGE: &str = "usage: rampart-bench-correlate [--attributes N] [--cap N]
  --attributes N  attributes to correlate (default 10,000,000)
  --cap N         a value in more holders than this is excluded (default 1,000)";

const TARGET_SECONDS: f64 = 60.0;
const TARGET_MIB: f64 = 4096.0;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A value rank from a Zipf-like law over `n` ranks (s = 1), by inverting the harmonic CDF.
fn zipf(rng: &mut Rng, n: u64) -> u64 {
    // H(n) ≈ ln(n) + γ; rank r ≈ exp(u · H(n)) − 1.
    let h = (n as f64).ln() + 0.577;
    ((rng.unit() * h).exp() - 1.0).min(n as f64 - 1.0) as u64
}

fn value(kind: Kind, rank: u64) -> String {
    match kind {
        Kind::Ip => {
            let v = 0x2D00_0000u32.wrapping_add((rank as u32).wrapping_mul(2_654_435_761) % 0x9000_0000);
            format!("{}.{}.{}.{}", v >> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255)
        }
        Kind::Network => {
            let v = 0x2D00_0000u32.wrapping_add((rank as u32).wrapping_mul(2_654_435_761) % 0x9000_0000);
            format!("{}.{}.{}.0/24", v >> 24, (v >> 16) & 255, (v >> 8) & 255)
        }
        Kind::Domain => {
            if rank.is_multiple_of(3) {
                format!("cdn{}.host{}.example{}.tw", rank % 7, rank / 3, rank % 97)
            } else {
                format!("host{rank}.example{}.tw", rank % 97)
            }
        }
        Kind::Url => format!("http://host{}.example{}.tw/path/{rank}", rank / 5, rank % 97),
        Kind::Email => format!("user{rank}@mail{}.example.tw", rank % 1000),
        Kind::Hash | Kind::Other => {
            format!("{:016x}{:016x}{:016x}{:016x}", rank.wrapping_mul(0x9E37_79B9_7F4A_7C15), rank ^ 0xABCD, rank.rotate_left(17), !rank)
        }
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

fn main() -> ExitCode {
    let mut n = 10_000_000u64;
    let mut cap = 1_000usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let value = args.next().and_then(|v| v.replace(['_', ','], "").parse::<u64>().ok());
        match (a.as_str(), value) {
            ("--attributes", Some(v)) => n = v.max(1),
            ("--cap", Some(v)) => cap = v.max(1) as usize,
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    // Attributes: (holder, kind, value), about twenty per event.
    let mut rng = Rng(0xC0FF_EE00_0001);
    let kinds = [(Kind::Ip, 35), (Kind::Domain, 25), (Kind::Url, 10), (Kind::Hash, 20), (Kind::Email, 5), (Kind::Network, 5)];
    let distinct_per_kind = (n / 3).max(10);
    let start = Instant::now();
    let mut attrs: Vec<(u32, Kind, String)> = Vec::with_capacity(n as usize);
    for i in 0..n {
        let pick = rng.next() % 100;
        let mut acc = 0;
        let kind = kinds.iter().find(|(_, share)| {
            acc += share;
            pick < acc
        });
        let kind = kind.map_or(Kind::Hash, |k| k.0);
        let rank = zipf(&mut rng, distinct_per_kind);
        attrs.push(((i / 20) as u32, kind, value(kind, rank)));
    }
    let before = peak_rss_mib();
    println!("generated {n} attributes in {} events in {:.1} s ({before:.0} MiB)", n / 20 + 1, start.elapsed().as_secs_f64());

    let start = Instant::now();
    let (correlation, s) = Correlation::build(attrs.iter().map(|(h, k, v)| Attribute { holder: *h, kind: *k, value: v }), cap);
    let seconds = start.elapsed().as_secs_f64();
    let peak = peak_rss_mib();
    // Peak memory of correlating, beyond the generated input the bench holds.
    let used = peak - before;
    let sample = correlation.related(0).len();
    println!(
        "correlated from scratch in {seconds:.1} s on one thread: {} distinct values, {} correlating, {} over the cap of {cap}, {} links \
         (address in network, subdomain), {} holder pairs implied; holder 0 relates to {sample}",
        s.distinct_values, s.correlating_values, s.excluded_values, s.links, s.implied_pairs
    );
    println!("peak memory: {peak:.0} MiB in all, {used:.0} MiB for correlating (the input itself: {before:.0} MiB)");
    println!(
        "target (<= 60 s and <= 4 GB for 10,000,000 attributes): {} ({seconds:.1} s, {peak:.0} MiB)",
        if seconds <= TARGET_SECONDS && peak <= TARGET_MIB { "met" } else { "not met" }
    );
    ExitCode::SUCCESS
}
