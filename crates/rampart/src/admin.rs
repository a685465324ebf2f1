//! `rampart admin …`: what an operator does at the console.

use crate::config::Config;
use anyhow::{bail, Context};
use clap::Subcommand;
use rampart_core::account::{Role, TokenScope};
use rampart_core::org::{NewOrganisation, OrgType};
use rampart_store::{Actor, Store};
use rampart_web::service::{accounts, orgs};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Organisations.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Write a consistent copy of the live SQLite database to FILE.
    Backup { file: PathBuf },
    /// Replace the SQLite database with the backup in FILE (stop `rampart serve` first).
    Restore { file: PathBuf },
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a user.
    Add {
        email: String,
        /// Organisation name.
        #[arg(long)]
        org: String,
        /// Role (repeatable): admin, coordinator, analyst, auditor, org_admin, org_member.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        #[arg(long, default_value = "")]
        name: String,
        /// Read the password from standard input (first line).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password (from standard input); ends their sessions and unlocks them.
    Passwd {
        email: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List users.
    List,
}

#[derive(Subcommand)]
pub enum OrgCommand {
    /// Create an organisation.
    Add {
        name: String,
        /// cert, government_agency, critical_infrastructure, enterprise, isac_member, peer_csirt, vendor.
        #[arg(long = "type")]
        org_type: String,
        /// Sector code (see GET /api/v1/sectors).
        #[arg(long)]
        sector: Option<String>,
        #[arg(long, default_value = "TW")]
        country: String,
        /// Parent organisation's name.
        #[arg(long)]
        parent: Option<String>,
    },
    /// List organisations.
    List,
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user and print it (it is shown only this once).
    Create {
        email: String,
        /// Days until it expires (default: never).
        #[arg(long)]
        expires: Option<i64>,
        #[arg(long, default_value = "cli")]
        name: String,
        /// Scopes, comma-separated: read, write, admin (default: read,write).
        #[arg(long, default_value = "read,write")]
        scopes: String,
    },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Verify the hash chain; exits non-zero naming the first bad entry.
    Verify,
}

fn read_password() -> anyhow::Result<String> {
    let mut input = String::new();
    std::io::stdin().take(4096).read_to_string(&mut input).context("reading the password from standard input")?;
    let password = input.lines().next().unwrap_or("").to_string();
    rampart_core::account::check_password_policy(&password)?;
    Ok(password)
}

pub async fn run(store: &dyn Store, config: &Config, command: AdminCommand) -> anyhow::Result<ExitCode> {
    let actor = Actor::Cli;
    match command {
        AdminCommand::User { command: UserCommand::Add { email, org, roles, name, password_stdin } } => {
            let org = store.find_org_by_name(&org).await?.with_context(|| format!("no organisation named {org:?}"))?;
            let roles = roles.iter().map(|r| r.parse::<Role>()).collect::<Result<Vec<_>, _>>()?;
            let password = if password_stdin { Some(read_password()?) } else { None };
            let input = accounts::CreateUser { email, display_name: name, org_id: org.id, roles, password, locale: None };
            let user = accounts::create_user(store, None, &actor, input).await?;
            println!("created user {} ({}) in {}", user.email, user.id, org.name);
        }
        AdminCommand::User { command: UserCommand::Passwd { email, .. } } => {
            let user = store.find_user_by_email(&email).await?.with_context(|| format!("no user {email}"))?;
            accounts::set_password(store, &actor, user.id, &read_password()?).await?;
            println!("password set for {}", user.email);
        }
        AdminCommand::User { command: UserCommand::List } => {
            for u in store.list_users(None).await? {
                let roles: Vec<_> = u.roles.iter().map(|r| r.as_str()).collect();
                println!("{}\t{}\t{}\ttotp={}", u.id, u.email, roles.join(","), u.totp_enabled);
            }
        }
        AdminCommand::Org { command: OrgCommand::Add { name, org_type, sector, country, parent } } => {
            let org_type: OrgType = org_type.parse()?;
            let parent_id = match parent {
                Some(p) => Some(store.find_org_by_name(&p).await?.with_context(|| format!("no organisation named {p:?}"))?.id),
                None => None,
            };
            let org = orgs::create(store, None, &actor, NewOrganisation { name, org_type, sector, country, parent_id }).await?;
            println!("created organisation {} ({})", org.name, org.id);
        }
        AdminCommand::Org { command: OrgCommand::List } => {
            for o in store.list_orgs().await? {
                println!("{}\t{}\t{}\t{}", o.id, o.name, o.org_type, o.sector.unwrap_or_default());
            }
        }
        AdminCommand::Token { command: TokenCommand::Create { email, expires, name, scopes } } => {
            let user = store.find_user_by_email(&email).await?.with_context(|| format!("no user {email}"))?;
            let scopes = scopes.split(',').map(|s| s.trim().parse::<TokenScope>()).collect::<Result<Vec<_>, _>>()?;
            let (secret, _) = accounts::create_token(store, &actor, &user, &name, scopes, expires).await?;
            println!("{secret}");
        }
        AdminCommand::Audit { command: AuditCommand::Verify } => {
            return Ok(match rampart_store::verify_audit_chain(store).await? {
                Ok(n) => {
                    println!("audit chain intact: {n} entries");
                    ExitCode::SUCCESS
                }
                Err(broken) => {
                    eprintln!("audit chain BROKEN at entry {}: {broken}", broken.seq());
                    ExitCode::from(2)
                }
            });
        }
        AdminCommand::Backup { file } => {
            store.backup_to(&file).await?;
            println!("backup written to {}", file.display());
        }
        AdminCommand::Restore { file } => {
            restore(config, &file).await?;
            println!("restored {} into {}", file.display(), config.data_dir.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Checks the backup, then swaps it in for the database file. The previous database
/// is kept beside it, so a restore can itself be undone.
async fn restore(config: &Config, backup: &Path) -> anyhow::Result<()> {
    let url = config.database_url();
    let Some(db_path) = url.strip_prefix("sqlite://").map(PathBuf::from) else {
        bail!("restore works on the SQLite database; restore PostgreSQL with pg_restore (see the README)");
    };
    rampart_store::sqlite::check_backup_file(backup).await.with_context(|| format!("{} is not a usable backup", backup.display()))?;
    if db_path.exists() {
        let kept = db_path.with_extension(format!("db.before-restore-{}", chrono::Utc::now().format("%Y%m%dT%H%M%SZ")));
        std::fs::rename(&db_path, &kept).with_context(|| format!("moving the current database to {}", kept.display()))?;
        println!("the previous database is kept at {}", kept.display());
    }
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db_path.display()));
    }
    std::fs::copy(backup, &db_path).with_context(|| format!("copying into {}", db_path.display()))?;
    Ok(())
}
