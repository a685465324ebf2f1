//! Starting the real binary: servers, CLI commands, databases.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_rampart");
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// Where a test's Rampart keeps its data.
pub struct Install {
    pub dir: tempfile::TempDir,
    /// `--database` value; `None` for the default SQLite file in the data dir.
    pub database: Option<String>,
}

impl Install {
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Where a started server's log (standard error) goes.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    pub fn sqlite_path(&self) -> PathBuf {
        self.dir.path().join("rampart.db")
    }

    /// The data-dir and database flags of this install.
    pub fn cli_args(&self) -> Vec<String> {
        let mut args = vec!["--data-dir".to_string(), self.dir.path().display().to_string()];
        if let Some(db) = &self.database {
            args.push("--database".into());
            args.push(db.clone());
        }
        args
    }

    /// Runs `rampart ARGS…` against this install.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.args(args).args(self.cli_args()).env("RAMPART_LOG", "warn").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("rampart runs");
        if let Some(input) = stdin {
            child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        }
        drop(child.stdin.take());
        child.wait_with_output().unwrap()
    }

    /// Runs a CLI command that must succeed; returns its standard output.
    pub fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.cli(args, stdin, &[]);
        assert!(out.status.success(), "rampart {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Creates an organisation and a user with a password.
    pub fn user(&self, email: &str, org: &str, org_type: &str, role: &str) {
        if !self.ok(&["admin", "org", "list"], None).contains(&format!("\t{org}\t")) {
            self.ok(&["admin", "org", "add", org, "--type", org_type], None);
        }
        self.ok(&["admin", "user", "add", email, "--org", org, "--role", role, "--password-stdin"], Some(ADMIN_PASSWORD));
    }

    pub fn token(&self, email: &str, scopes: &str) -> String {
        self.ok(&["admin", "token", "create", email, "--scopes", scopes], None).trim().to_string()
    }

    pub fn start(&self, env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(BIN);
        cmd.arg("serve").args(["--listen", "127.0.0.1:0"]).args(self.cli_args()).env("RAMPART_LOG", "warn");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let log = std::fs::File::create(self.log_path()).unwrap();
        let mut child = cmd.stdout(Stdio::piped()).stderr(log).spawn().expect("rampart serve starts");
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut base = None;
        let mut setup_url = None;
        let mut printed = Vec::new();
        // The listening line comes last; a setup link, if any, before it.
        while let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) {
            printed.push(line.clone());
            if let Some(url) = line.split_whitespace().find(|w| w.contains("/setup?token=")) {
                setup_url = Some(url.to_string());
            }
            if let Some(rest) = line.strip_prefix("Rampart is listening on ") {
                base = rest.split_whitespace().next().map(str::to_string);
                break;
            }
        }
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let base = base.unwrap_or_else(|| panic!("server did not start; it printed {printed:?}, log: {log}"));
        Server { child, base, setup_url, printed }
    }
}

pub struct Server {
    child: Child,
    pub base: String,
    pub setup_url: Option<String>,
    pub printed: Vec<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh install on SQLite, then (when configured) one on a fresh PostgreSQL database.
pub fn installs() -> Vec<Install> {
    let mut all = vec![Install { dir: tempfile::tempdir().unwrap(), database: None }];
    if let Ok(url) = std::env::var("RAMPART_TEST_POSTGRES_URL") {
        all.push(Install { dir: tempfile::tempdir().unwrap(), database: Some(fresh_postgres_database(&url)) });
    }
    all
}

pub fn sqlite_install() -> Install {
    Install { dir: tempfile::tempdir().unwrap(), database: None }
}

fn fresh_postgres_database(url: &str) -> String {
    let name = format!("rampart_it_{}", uuid::Uuid::now_v7().simple());
    block_on(async {
        let pool = sqlx::PgPool::connect(url).await.expect("RAMPART_TEST_POSTGRES_URL reachable");
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&pool).await.unwrap();
    });
    let (base, _) = url.rsplit_once('/').expect("postgres URL with a database");
    format!("{base}/{name}")
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

/// Runs SQL directly against an install's database, behind Rampart's back.
pub fn raw_sql(install: &Install, sql: &str) {
    block_on(async {
        match &install.database {
            Some(url) => {
                let pool = sqlx::PgPool::connect(url).await.unwrap();
                sqlx::query(sql).execute(&pool).await.unwrap();
            }
            None => {
                let options = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(install.sqlite_path())
                    .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
                let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
                sqlx::query(sql).execute(&pool).await.unwrap();
            }
        }
    });
}

/// The current TOTP code for a base32 secret, using a time step not used yet.
pub fn totp_code(secret: &str, step: i64) -> String {
    let raw = data_encoding_free_base32(secret);
    format!("{:06}", rampart_core::totp::code_at_step(&raw, step))
}

fn data_encoding_free_base32(secret: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut nbits = 0;
    let mut out = Vec::new();
    for c in secret.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c.to_ascii_uppercase()).expect("base32") as u64;
        bits = (bits << 5) | v;
        nbits += 5;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
    }
    out
}
