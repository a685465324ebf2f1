//! `bench/incidents`: how fast Rampart lists, searches and looks up incidents at a
//! national CERT's scale. Loads N synthetic incidents with M observable links into
//! SQLite and PostgreSQL (batched statements and COPY), then measures through the
//! same `Store` API the server uses: a filtered, paged list (following the keyset
//! cursor), full-text search, and "which incidents have this observable".
//!
//! Usage: rampart-bench-incidents [--incidents N] [--observables M] [--queries Q]
//!        [--postgres URL] [--skip-sqlite] [--skip-postgres]

use anyhow::{bail, Context};
use chrono::{Duration, TimeZone, Utc};
use rampart_core::incident::{IncidentStatus, Severity};
use rampart_core::observables::{Observable, ObservableKind};
use rampart_store::{IncidentFilter, Store};
use std::time::Instant;

const WORDS: &[&str] = &[
    "phishing",
    "ransomware",
    "defacement",
    "scan",
    "botnet",
    "malware",
    "credential",
    "ddos",
    "exfiltration",
    "webshell",
    "spam",
    "vulnerability",
    "hospital",
    "bank",
    "ministry",
    "university",
    "telecom",
    "power",
    "water",
    "railway",
    "login",
    "server",
    "firewall",
    "vpn",
    "email",
    "domain",
    "certificate",
    "backdoor",
    "trojan",
    "worm",
    "exploit",
    "brute",
    "force",
    "leak",
    "database",
];

struct Args {
    incidents: u64,
    observables: u64,
    queries: usize,
    postgres: Option<String>,
    sqlite: bool,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args { incidents: 1_000_000, observables: 10_000_000, queries: 300, postgres: None, sqlite: true };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--incidents" => a.incidents = it.next().context("--incidents N")?.parse()?,
            "--observables" => a.observables = it.next().context("--observables M")?.parse()?,
            "--queries" => a.queries = it.next().context("--queries Q")?.parse()?,
            "--postgres" => a.postgres = Some(it.next().context("--postgres URL")?),
            "--skip-sqlite" => a.sqlite = false,
            "--skip-postgres" => a.postgres = None,
            other => bail!("unknown argument {other}"),
        }
    }
    if a.incidents == 0 || a.observables < a.incidents {
        bail!("need at least one incident and as many observable links as incidents");
    }
    Ok(a)
}

/// A small, fast, deterministic generator (xorshift64*), so both backends get the same data.
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
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// The n-th distinct observable: half IPv4 addresses, half domains.
fn observable(n: u64) -> Observable {
    if n.is_multiple_of(2) {
        let v = (n / 2) as u32 ^ 0x0A00_0000;
        Observable { kind: ObservableKind::Ipv4, value: std::net::Ipv4Addr::from(v).to_string() }
    } else {
        Observable { kind: ObservableKind::Domain, value: format!("host{}.example{}.tw", n / 2, n % 97) }
    }
}

fn distinct_observables(links: u64) -> u64 {
    (links / 2).max(1)
}

struct Row {
    id: String,
    reference: String,
    title: String,
    description: String,
    status: &'static str,
    severity: &'static str,
    created_at: chrono::DateTime<Utc>,
}

fn incident(rng: &mut Rng, n: u64, total: u64) -> Row {
    let start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    // Spread over two years, in creation order like a real system.
    let created_at = start + Duration::seconds((n as i64) * (2 * 365 * 86_400) / total as i64);
    let words: Vec<&str> = (0..6).map(|_| *rng.pick(WORDS)).collect();
    let statuses = [IncidentStatus::New, IncidentStatus::Open, IncidentStatus::Contained, IncidentStatus::Resolved, IncidentStatus::Closed];
    let status = match rng.below(100) {
        0..=4 => statuses[0],
        5..=14 => statuses[1],
        15..=19 => statuses[2],
        20..=29 => statuses[3],
        _ => statuses[4],
    };
    // A UUIDv7 with the creation time and, instead of random bits, the row number, so
    // the ids are the same every time they are generated.
    let ms = created_at.timestamp_millis() as u128;
    let id = uuid::Uuid::from_u128((ms << 80) | (0x7 << 76) | (0b10 << 62) | (n as u128 & 0xFFFF_FFFF_FFFF));
    Row {
        id: id.to_string(),
        reference: format!("INC-{}-{:07}", 2024 + (n * 2 / total), n),
        title: format!("{} {} on {}", words[0], words[1], words[2]),
        description: format!("Reported {} {} affecting {} {}; analysts found {}.", words[3], words[4], words[5], words[0], words[1]),
        status: status.as_str(),
        severity: rng.pick(Severity::ALL).as_str(),
        created_at,
    }
}

fn csv_field(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

async fn load_postgres(url: &str, a: &Args) -> anyhow::Result<()> {
    use sqlx::postgres::PgPoolCopyExt;
    let pool = sqlx::PgPool::connect(url).await?;
    let mut rng = Rng(0x5EED);
    let started = Instant::now();
    let mut copy = pool.copy_in_raw("COPY incidents (id, reference, title, description, status, tlp, pap, severity, created_by, created_at, updated_at) FROM STDIN WITH (FORMAT csv)").await?;
    let mut buf = String::with_capacity(1 << 20);
    for n in 0..a.incidents {
        let r = incident(&mut rng, n, a.incidents);
        let at = r.created_at.to_rfc3339();
        buf.push_str(&format!(
            "{},{},{},{},{},amber,amber,{},bench,{at},{at}\n",
            r.id,
            r.reference,
            csv_field(&r.title),
            csv_field(&r.description),
            r.status,
            r.severity
        ));
        if buf.len() > 1 << 20 {
            copy.send(buf.as_bytes()).await?;
            buf.clear();
        }
    }
    copy.send(buf.as_bytes()).await?;
    copy.finish().await?;
    buf.clear();
    let distinct = distinct_observables(a.observables);
    let mut copy = pool.copy_in_raw("COPY observables (id, kind, value) FROM STDIN WITH (FORMAT csv)").await?;
    for n in 0..distinct {
        let o = observable(n);
        buf.push_str(&format!("{},{},{}\n", n + 1, o.kind, o.value));
        if buf.len() > 1 << 20 {
            copy.send(buf.as_bytes()).await?;
            buf.clear();
        }
    }
    copy.send(buf.as_bytes()).await?;
    copy.finish().await?;
    buf.clear();
    sqlx::query("SELECT setval('observables_id_seq', $1)").bind(distinct as i64).execute(&pool).await?;
    let ids = incident_ids(&mut Rng(0x5EED), a.incidents);
    let mut copy =
        pool.copy_in_raw("COPY incident_observables (incident_id, observable_id, first_seen) FROM STDIN WITH (FORMAT csv)").await?;
    // SQLite skips repeated pairs with INSERT OR IGNORE; COPY cannot, so skip them here.
    let mut pairs = std::collections::HashSet::with_capacity(a.observables as usize);
    for (inc, obs) in links(a) {
        if !pairs.insert((inc, obs)) {
            continue;
        }
        buf.push_str(&format!("{},{},2026-01-01T00:00:00Z\n", ids[inc as usize], obs + 1));
        if buf.len() > 1 << 20 {
            copy.send(buf.as_bytes()).await?;
            buf.clear();
        }
    }
    copy.send(buf.as_bytes()).await?;
    copy.finish().await?;
    sqlx::query("ANALYZE").execute(&pool).await?;
    pool.close().await;
    println!("  postgres: loaded in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// The incident ids in generation order (regenerated, not kept from the load).
fn incident_ids(rng: &mut Rng, total: u64) -> Vec<String> {
    (0..total).map(|n| incident(rng, n, total).id).collect()
}

/// Which observable each link joins: links are spread round-robin over incidents,
/// and a few observables are shared by many incidents, as in real data.
fn links(a: &Args) -> impl Iterator<Item = (u64, u64)> + '_ {
    let distinct = distinct_observables(a.observables);
    let mut rng = Rng(0xF00D);
    (0..a.observables).map(move |i| {
        let inc = i % a.incidents;
        let obs = if rng.below(10) == 0 { rng.below(1000.min(distinct)) } else { rng.below(distinct) };
        (inc, obs)
    })
}

async fn load_sqlite(path: &std::path::Path, a: &Args) -> anyhow::Result<()> {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    let options = SqliteConnectOptions::new().filename(path).journal_mode(SqliteJournalMode::Wal).synchronous(SqliteSynchronous::Off);
    let pool = sqlx::SqlitePool::connect_with(options).await?;
    let started = Instant::now();
    let mut rng = Rng(0x5EED);
    const BATCH: u64 = 2000;
    let mut n = 0;
    while n < a.incidents {
        let mut tx = pool.begin().await?;
        let end = (n + BATCH).min(a.incidents);
        let mut q = sqlx::QueryBuilder::new(
            "INSERT INTO incidents (id, reference, title, description, status, tlp, pap, severity, created_by, created_at, updated_at) ",
        );
        let rows: Vec<Row> = (n..end).map(|k| incident(&mut rng, k, a.incidents)).collect();
        q.push_values(&rows, |mut b, r| {
            b.push_bind(&r.id).push_bind(&r.reference).push_bind(&r.title).push_bind(&r.description).push_bind(r.status);
            b.push_bind("amber")
                .push_bind("amber")
                .push_bind(r.severity)
                .push_bind("bench")
                .push_bind(r.created_at)
                .push_bind(r.created_at);
        });
        q.build().execute(&mut *tx).await.context("loading incidents")?;
        tx.commit().await?;
        n = end;
    }
    let distinct = distinct_observables(a.observables);
    let mut n = 0;
    while n < distinct {
        let end = (n + 10_000).min(distinct);
        let mut tx = pool.begin().await?;
        let obs: Vec<(u64, Observable)> = (n..end).map(|k| (k + 1, observable(k))).collect();
        let mut q = sqlx::QueryBuilder::new("INSERT INTO observables (id, kind, value) ");
        q.push_values(&obs, |mut b, (id, o)| {
            b.push_bind(*id as i64).push_bind(o.kind.as_str()).push_bind(&o.value);
        });
        q.build().execute(&mut *tx).await.context("loading observables")?;
        tx.commit().await?;
        n = end;
    }
    let ids = incident_ids(&mut Rng(0x5EED), a.incidents);
    let all: Vec<(u64, u64)> = links(a).collect();
    for chunk in all.chunks(10_000) {
        let mut tx = pool.begin().await?;
        let mut q = sqlx::QueryBuilder::new("INSERT OR IGNORE INTO incident_observables (incident_id, observable_id, first_seen) ");
        q.push_values(chunk, |mut b, (inc, obs)| {
            b.push_bind(&ids[*inc as usize]).push_bind((*obs + 1) as i64).push_bind("2026-01-01T00:00:00+00:00");
        });
        q.build().execute(&mut *tx).await.context("linking observables")?;
        tx.commit().await?;
    }
    sqlx::query("ANALYZE").execute(&pool).await?;
    pool.close().await;
    println!("  sqlite: loaded in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn measure(name: &str, store: &dyn Store, a: &Args) -> anyhow::Result<Vec<(String, f64, f64)>> {
    let mut rng = Rng(0xBEEF);
    let incidents = store.incidents();
    let mut results = Vec::new();
    let statuses = IncidentStatus::ALL;
    let mut timings = |label: &str, mut samples: Vec<f64>| {
        samples.sort_by(|x, y| x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Equal));
        let (p50, p99) = (percentile(&samples, 0.5), percentile(&samples, 0.99));
        println!("  {name:<8} {label:<44} p50 {p50:>7.2} ms   p99 {p99:>7.2} ms");
        results.push((label.to_string(), p50, p99));
    };

    // Filtered list, first page and four more pages down the keyset cursor.
    let mut samples = Vec::new();
    for _ in 0..a.queries {
        let mut filter =
            IncidentFilter { status: Some(*rng.pick(statuses)), severity: Some(*rng.pick(Severity::ALL)), limit: 50, ..Default::default() };
        for _ in 0..5 {
            let t = Instant::now();
            let page = incidents.list_incidents(&filter).await?;
            samples.push(t.elapsed().as_secs_f64() * 1000.0);
            filter.after = rampart_store::next_cursor(&page, 50);
            if filter.after.is_none() {
                break;
            }
        }
    }
    timings("list: status+severity filter, 50/page, 5 pages", samples);

    let mut samples = Vec::new();
    for _ in 0..a.queries {
        let filter = IncidentFilter { limit: 50, ..Default::default() };
        let t = Instant::now();
        incidents.list_incidents(&filter).await?;
        samples.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    timings("list: newest 50, no filter", samples);

    let mut samples = Vec::new();
    for _ in 0..a.queries {
        let text = format!("{} {}", rng.pick(WORDS), rng.pick(WORDS));
        let filter = IncidentFilter { text: Some(text), limit: 50, ..Default::default() };
        let t = Instant::now();
        incidents.list_incidents(&filter).await?;
        samples.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    timings("full-text search, two words, 50 results", samples);

    let mut samples = Vec::new();
    let distinct = distinct_observables(a.observables);
    for _ in 0..a.queries {
        let o = observable(rng.below(distinct));
        let t = Instant::now();
        incidents.incidents_with_observable(&o, 100).await?;
        samples.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    timings("observable lookup: incidents with a value", samples);
    Ok(results)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    println!("Rampart incident benchmark: {} incidents, {} observable links, {} queries per kind", a.incidents, a.observables, a.queries);
    println!("Target: p99 <= 50 ms on each query kind.");
    let mut verdicts = Vec::new();
    if a.sqlite {
        let dir = std::env::temp_dir().join(format!("rampart-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("bench.db");
        {
            let store = rampart_store::sqlite::SqliteStore::open(&path).await?;
            store.migrate().await?;
            store.close().await;
        }
        load_sqlite(&path, &a).await?;
        let store = rampart_store::sqlite::SqliteStore::open(&path).await?;
        verdicts.push(("sqlite", measure("sqlite", &store, &a).await?));
        store.close().await;
        std::fs::remove_dir_all(&dir)?;
    }
    if let Some(url) = &a.postgres {
        let admin = sqlx::PgPool::connect(url).await?;
        let db = format!("rampart_bench_{}", std::process::id());
        sqlx::query(&format!("CREATE DATABASE {db}")).execute(&admin).await?;
        let (base, _) = url.rsplit_once('/').context("postgres URL with a database")?;
        let bench_url = format!("{base}/{db}");
        let store = rampart_store::postgres::PgStore::connect(&bench_url).await?;
        store.migrate().await?;
        load_postgres(&bench_url, &a).await?;
        verdicts.push(("postgres", measure("postgres", &store, &a).await?));
        store.pool().close().await;
        sqlx::query(&format!("DROP DATABASE {db} WITH (FORCE)")).execute(&admin).await?;
    }
    let mut all_ok = true;
    for (backend, results) in &verdicts {
        for (label, _, p99) in results {
            let ok = *p99 <= 50.0;
            all_ok &= ok;
            println!("{} {backend:<8} {label}: p99 {p99:.2} ms", if ok { "PASS" } else { "FAIL" });
        }
    }
    println!("{}", if all_ok { "all within target" } else { "some query kinds exceed the target" });
    Ok(())
}
