//! `bench/route`: how fast the constituency index finds the most specific prefix for an
//! address, which every feed entry and notification goes through. Builds a `PrefixMap`
//! over N synthetic IPv4 prefixes shaped like a routing table (mostly /16–/24, some
//! nested), times random lookups on one thread, compares with the naive sorted-list
//! baseline on the same addresses (they must agree on every one), then does the same for
//! IPv6. Everything is generated from a fixed seed, so runs are comparable.
//!
//! Usage: rampart-bench-route [--prefixes N] [--lookups N] [--v6-prefixes N]

use rampart_core::constituency::lpm::{NaiveSortedPrefixes, PrefixMap};
use rampart_core::constituency::prefix::IpPrefix;
use std::collections::HashSet;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: rampart-bench-route [--prefixes N] [--lookups N] [--v6-prefixes N]
  --prefixes N      IPv4 prefixes in the map (default 1,000,000)
  --lookups N       random addresses looked up, per family (default 10,000,000)
  --v6-prefixes N   IPv6 prefixes in the map (default 200,000)";

/// Lookups per second on one core that the IPv4 `PrefixMap` must reach.
const TARGET: f64 = 10_000_000.0;
/// The baseline only runs on this many addresses: it is far slower.
const NAIVE_MAX: usize = 1_000_000;
/// Share of prefixes (in percent) generated inside an existing one.
const NESTED_PERCENT: u64 = 15;
/// 2000::/3, where all global unicast IPv6 lives.
const GLOBAL6: u128 = 0b001 << 125;

/// xorshift64*: small, fast and deterministic, which is all a benchmark needs.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform enough below `n` for a benchmark (`n` is tiny next to 2^64).
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn next_u128(&mut self) -> u128 {
        (u128::from(self.next_u64()) << 64) | u128::from(self.next_u64())
    }
}

struct Args {
    prefixes: usize,
    lookups: usize,
    v6_prefixes: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { prefixes: 1_000_000, lookups: 10_000_000, v6_prefixes: 200_000 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let slot = match flag.as_str() {
            "--prefixes" => &mut args.prefixes,
            "--lookups" => &mut args.lookups,
            "--v6-prefixes" => &mut args.v6_prefixes,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        };
        let value = it.next().ok_or_else(|| format!("{flag} needs a number"))?;
        *slot = value.replace(['_', ','], "").parse().map_err(|_| format!("{flag}: {value:?} is not a number"))?;
    }
    if !(1..=8_000_000).contains(&args.prefixes) || !(1..=8_000_000).contains(&args.v6_prefixes) {
        return Err("--prefixes and --v6-prefixes must be from 1 to 8,000,000".into());
    }
    if args.lookups == 0 {
        return Err("--lookups must be at least 1".into());
    }
    Ok(args)
}

fn mask4(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    }
}

fn mask6(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len))
    }
}

/// Roughly the shape of a full IPv4 table (per 100,000 prefixes): ~60,000 /24s, 28,000
/// /21–/23s, 9,500 /17–/20s, 1,400 /16s, 450 /9–/15s (mostly the longer ones) and a couple of /8s.
fn v4_length(rng: &mut Rng) -> u8 {
    match rng.below(100_000) {
        0..=1 => 8,
        2..=451 => 9 + rng.below(7).max(rng.below(7)).max(rng.below(7)) as u8,
        452..=1_851 => 16,
        1_852..=11_351 => 17 + rng.below(4) as u8,
        11_352..=39_351 => 21 + rng.below(3) as u8,
        _ => 24,
    }
}

/// /32 allocations, /48 sites, and a spread in between and below.
fn v6_length(rng: &mut Rng) -> u8 {
    match rng.below(100) {
        0..=19 => 32,
        20..=39 => 33 + rng.below(15) as u8,
        40..=89 => 48,
        _ => 49 + rng.below(16) as u8,
    }
}

/// `n` distinct prefixes; some are more specifics inside one generated earlier, as
/// deaggregated and customer routes are.
fn generate<A: Copy + Eq + std::hash::Hash>(
    rng: &mut Rng,
    n: usize,
    max_nested_len: u8,
    mut top_level: impl FnMut(&mut Rng) -> (A, u8),
    mut inside: impl FnMut(&mut Rng, A, u8, u8) -> A,
) -> Vec<(A, u8)> {
    let mut seen = HashSet::with_capacity(n);
    let mut out: Vec<(A, u8)> = Vec::with_capacity(n);
    while out.len() < n {
        let candidate = if !out.is_empty() && rng.below(100) < NESTED_PERCENT {
            let (parent, plen) = out[rng.below(out.len() as u64) as usize];
            if plen >= max_nested_len {
                continue;
            }
            let len = plen + 1 + rng.below(u64::from(max_nested_len - plen)) as u8;
            (inside(rng, parent, plen, len), len)
        } else {
            top_level(rng)
        };
        if seen.insert(candidate) {
            out.push(candidate);
        }
    }
    out
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

fn row(label: &str, text: &str) {
    println!("  {label:<20} {text}");
}

/// Prints one timed run and returns its lookups per second.
fn timed_row(label: &str, n: usize, d: Duration, checksum: u64, note: &str) -> f64 {
    let r = rate(n, d);
    row(label, &format!("{} lookups in {:.3} s = {:.2} M lookups/s  (checksum {checksum}){note}", thousands(n), d.as_secs_f64(), r / 1e6));
    r
}

/// Sums entry index + 1 over all hits, so the work cannot be optimised away.
fn time_v4(addrs: &[u32], lookup: impl Fn(u32) -> Option<u32>) -> (Duration, u64) {
    let start = Instant::now();
    let mut sum = 0u64;
    for &ip in addrs {
        if let Some(i) = lookup(black_box(ip)) {
            sum = sum.wrapping_add(u64::from(i) + 1);
        }
    }
    (start.elapsed(), black_box(sum))
}

fn time_v6(addrs: &[u128], lookup: impl Fn(u128) -> Option<u32>) -> (Duration, u64) {
    let start = Instant::now();
    let mut sum = 0u64;
    for &ip in addrs {
        if let Some(i) = lookup(black_box(ip)) {
            sum = sum.wrapping_add(u64::from(i) + 1);
        }
    }
    (start.elapsed(), black_box(sum))
}

/// Addresses where the two disagree, and how many matched a prefix at all.
fn compare<A: Copy>(addrs: &[A], fast: impl Fn(A) -> Option<u32>, naive: impl Fn(A) -> Option<u32>) -> (Vec<A>, usize) {
    let mut wrong = Vec::new();
    let mut hits = 0;
    for &a in addrs {
        let (f, n) = (fast(a), naive(a));
        if f != n {
            wrong.push(a);
        }
        hits += usize::from(f.is_some());
    }
    (wrong, hits)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let mut ok = true;
    let naive_n = args.lookups.min(NAIVE_MAX);
    let naive_note = if naive_n < args.lookups {
        format!("  [first {} addresses only: the baseline is slow]", thousands(naive_n))
    } else {
        String::new()
    };
    println!("rampart-bench-route: most-specific-prefix lookups on one thread");

    // ---- IPv4 ----
    let mut rng = Rng::new(0x5EED_0F2A_3B4C_5D6E);
    let v4 = generate(
        &mut rng,
        args.prefixes,
        24,
        |r| {
            let len = v4_length(r);
            (r.next_u32() & mask4(len), len)
        },
        |r, parent: u32, plen, len| (parent | (r.next_u32() & !mask4(plen))) & mask4(len),
    );
    let entries: Vec<(IpPrefix, u32)> = v4
        .iter()
        .enumerate()
        .map(|(i, &(a, len))| (IpPrefix::new(IpAddr::V4(Ipv4Addr::from(a)), len).expect("generated prefixes have no host bits"), i as u32))
        .collect();
    let list: Vec<IpPrefix> = entries.iter().map(|e| e.0).collect();
    // Generated up front, so only the lookups are timed.
    let addrs: Vec<u32> = (0..args.lookups).map(|_| rng.next_u32()).collect();

    let t = Instant::now();
    let map = PrefixMap::build(entries);
    let build = t.elapsed();
    let t = Instant::now();
    let naive = NaiveSortedPrefixes::build(list);
    let naive_build = t.elapsed();

    println!("IPv4");
    row("prefixes", &format!("{} distinct (/8-/24, mostly /16-/24, ~{NESTED_PERCENT}% generated inside another)", thousands(map.len())));
    row("intervals", &thousands(map.interval_counts().0));
    row("build", &format!("{:.3} s PrefixMap, {:.3} s naive sorted list", build.as_secs_f64(), naive_build.as_secs_f64()));
    row("addresses", "uniformly random");
    // Warm up on a slice, then time the full run.
    let _ = time_v4(&addrs[..addrs.len().min(100_000)], |ip| map.lookup_v4(ip));
    let (d, sum) = time_v4(&addrs, |ip| map.lookup_v4(ip));
    let fast_rate = timed_row("PrefixMap", addrs.len(), d, sum, "");
    let (nd, nsum) = time_v4(&addrs[..naive_n], |ip| naive.lookup_v4(ip));
    let naive_rate = timed_row("naive sorted list", naive_n, nd, nsum, &naive_note);
    let (wrong, hits) = compare(&addrs[..naive_n], |ip| map.lookup_v4(ip), |ip| naive.lookup_v4(ip));
    row(
        "agreement",
        &format!(
            "{} / {} addresses give the same prefix ({:.1}% lie in some prefix)",
            thousands(naive_n - wrong.len()),
            thousands(naive_n),
            100.0 * hits as f64 / naive_n as f64
        ),
    );
    if let Some(&w) = wrong.first() {
        let ip = IpAddr::V4(Ipv4Addr::from(w));
        println!("  MISMATCH at {ip}: PrefixMap {:?}, naive {:?}", map.lookup(ip).map(|e| e.0), naive.lookup(ip));
        ok = false;
    }
    row("speed-up", &format!("{:.1}x", fast_rate / naive_rate));

    // ---- IPv6 ----
    let mut rng6 = Rng::new(0x0006_5EED_F00D_CAFE);
    let v6 = generate(
        &mut rng6,
        args.v6_prefixes,
        64,
        |r| {
            let len = v6_length(r);
            ((GLOBAL6 | (r.next_u128() >> 3)) & mask6(len), len)
        },
        |r, parent: u128, plen, len| (parent | (r.next_u128() & !mask6(plen))) & mask6(len),
    );
    let entries6: Vec<(IpPrefix, u32)> = v6
        .iter()
        .enumerate()
        .map(|(i, &(a, len))| (IpPrefix::new(IpAddr::V6(Ipv6Addr::from(a)), len).expect("generated prefixes have no host bits"), i as u32))
        .collect();
    let list6: Vec<IpPrefix> = entries6.iter().map(|e| e.0).collect();
    // Uniformly random IPv6 addresses almost never hit a prefix, so half are drawn inside one.
    let addrs6: Vec<u128> = (0..args.lookups)
        .map(|i| {
            if i % 2 == 0 {
                let (a, len) = v6[rng6.below(v6.len() as u64) as usize];
                a | (rng6.next_u128() & !mask6(len))
            } else {
                GLOBAL6 | (rng6.next_u128() >> 3)
            }
        })
        .collect();
    let t = Instant::now();
    let map6 = PrefixMap::build(entries6);
    let build6 = t.elapsed();
    let naive6 = NaiveSortedPrefixes::build(list6);

    println!("IPv6");
    row("prefixes", &format!("{} distinct (/32-/64 in 2000::/3, ~{NESTED_PERCENT}% generated inside another)", thousands(map6.len())));
    row("intervals", &thousands(map6.interval_counts().1));
    row("build", &format!("{:.3} s PrefixMap", build6.as_secs_f64()));
    row("addresses", "half inside a random prefix, half random in 2000::/3");
    let _ = time_v6(&addrs6[..addrs6.len().min(100_000)], |ip| map6.lookup_v6(ip));
    let (d6, sum6) = time_v6(&addrs6, |ip| map6.lookup_v6(ip));
    let fast6_rate = timed_row("PrefixMap", addrs6.len(), d6, sum6, "");
    let (nd6, nsum6) = time_v6(&addrs6[..naive_n], |ip| naive6.lookup_v6(ip));
    let naive6_rate = timed_row("naive sorted list", naive_n, nd6, nsum6, &naive_note);
    let (wrong6, hits6) = compare(&addrs6[..naive_n], |ip| map6.lookup_v6(ip), |ip| naive6.lookup_v6(ip));
    row(
        "agreement",
        &format!(
            "{} / {} addresses give the same prefix ({:.1}% lie in some prefix)",
            thousands(naive_n - wrong6.len()),
            thousands(naive_n),
            100.0 * hits6 as f64 / naive_n as f64
        ),
    );
    if let Some(&w) = wrong6.first() {
        let ip = IpAddr::V6(Ipv6Addr::from(w));
        println!("  MISMATCH at {ip}: PrefixMap {:?}, naive {:?}", map6.lookup(ip).map(|e| e.0), naive6.lookup(ip));
        ok = false;
    }
    row("speed-up", &format!("{:.1}x", fast6_rate / naive6_rate));

    println!();
    let verdict = if fast_rate >= TARGET { "met" } else { "NOT met" };
    println!(
        "target: >= {} lookups/s/core: {verdict} (IPv4 PrefixMap: {} lookups/s)",
        thousands(TARGET as usize),
        thousands(fast_rate as usize)
    );
    if ok {
        ExitCode::SUCCESS
    } else {
        eprintln!("PrefixMap and the baseline disagree: the index is wrong");
        ExitCode::FAILURE
    }
}
