//! `rampart mailgate`: the MTA pipe. Exit statuses follow sendmail's sysexits so the
//! MTA does the right thing: 0 delivered, 65 (EX_DATAERR) bounce, 75 (EX_TEMPFAIL)
//! keep the message and try again.

use crate::config::Config;
use std::io::Read;
use std::process::ExitCode;

const EX_DATAERR: u8 = 65;
const EX_TEMPFAIL: u8 = 75;
/// Larger messages are bounced rather than half-read.
const MAX_MESSAGE_BYTES: u64 = 64 * 1024 * 1024;

/// The message on standard input, or the exit status that refuses it.
fn read_message() -> Result<Vec<u8>, ExitCode> {
    let mut raw = Vec::new();
    if let Err(e) = std::io::stdin().take(MAX_MESSAGE_BYTES + 1).read_to_end(&mut raw) {
        eprintln!("mailgate: reading the message failed: {e}");
        return Err(ExitCode::from(EX_TEMPFAIL));
    }
    if raw.len() as u64 > MAX_MESSAGE_BYTES {
        eprintln!("mailgate: the message is larger than {MAX_MESSAGE_BYTES} bytes");
        return Err(ExitCode::from(EX_DATAERR));
    }
    Ok(raw)
}

/// The database, migrated; when it is not there, the MTA keeps the message and retries.
async fn ready_store(config: &Config) -> Result<std::sync::Arc<dyn rampart_store::Store>, ExitCode> {
    let store = match crate::open_store(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mailgate: the database is not available, the MTA will retry: {e:#}");
            return Err(ExitCode::from(EX_TEMPFAIL));
        }
    };
    if let Err(e) = store.migrate().await {
        eprintln!("mailgate: the database is not ready, the MTA will retry: {e}");
        return Err(ExitCode::from(EX_TEMPFAIL));
    }
    Ok(store)
}

pub async fn run(config: &Config, queue: Option<&str>) -> ExitCode {
    let raw = match read_message() {
        Ok(raw) => raw,
        Err(code) => return code,
    };
    if raw.iter().all(u8::is_ascii_whitespace) {
        eprintln!("mailgate: empty message");
        return ExitCode::from(EX_DATAERR);
    }
    let store = match ready_store(config).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let keyring = match keyring(config) {
        Ok(k) => {
            // Contacts' keys in the registry count as known signers too.
            let registry_keys = store.registry().contact_keys().await.unwrap_or_default();
            match k {
                Some(mut ring) => {
                    ring.add_contact_keys(&registry_keys);
                    Some(ring)
                }
                None if !registry_keys.is_empty() => {
                    let mut ring = rampart_notify::openpgp::Keyring::new(None, Vec::new());
                    ring.add_contact_keys(&registry_keys);
                    Some(ring)
                }
                None => None,
            }
        }
        Err(e) => {
            eprintln!("mailgate: the OpenPGP keys are not usable, the MTA will retry: {e}");
            return ExitCode::from(EX_TEMPFAIL);
        }
    };
    let evidence = rampart_web::evidence::EvidenceStore::new(&config.data_dir);
    match rampart_web::service::mailgate::deliver(&*store, &evidence, &raw, queue, config.intake.max_attachment_bytes, keyring.as_ref())
        .await
    {
        Ok(delivered) => {
            println!("{}", delivered.reference());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mailgate: delivery failed, the MTA will retry: {e}");
            ExitCode::from(EX_TEMPFAIL)
        }
    }
}

/// The CERT key and contacts' keys, when configured.
fn keyring(config: &Config) -> Result<Option<rampart_notify::openpgp::Keyring>, rampart_notify::openpgp::PgpError> {
    let secret = Some(config.pgp.secret_key_file.as_str()).filter(|p| !p.is_empty()).map(std::path::Path::new);
    let contacts = Some(config.pgp.contact_keys_dir.as_str()).filter(|p| !p.is_empty()).map(std::path::Path::new);
    if secret.is_none() && contacts.is_none() {
        return Ok(None);
    }
    let passphrase = std::env::var("RAMPART_PGP_PASSPHRASE").unwrap_or_default();
    rampart_notify::openpgp::Keyring::load(secret, &passphrase, contacts).map(Some)
}

/// `rampart mailgate --feed NAME`: a feed delivered by mail (Shadowserver sends its
/// reports so). Every attachment is kept and ingested into the feed. A message without
/// attachments, or with one that cannot be ingested at all, bounces (65) after its
/// files were kept under `<data_dir>/feeds/incoming/`.
pub async fn run_feed(config: &Config, feed: &str) -> ExitCode {
    let raw = match read_message() {
        Ok(raw) => raw,
        Err(code) => return code,
    };
    let Ok(mail) = rampart_notify::intake::parse(&raw) else {
        eprintln!("mailgate: not a mail message");
        return ExitCode::from(EX_DATAERR);
    };
    let files: Vec<_> = mail.attachments.iter().filter(|a| !a.bytes.is_empty()).collect();
    if files.is_empty() {
        eprintln!("mailgate: the message to feed {feed:?} has no attachment");
        return ExitCode::from(EX_DATAERR);
    }
    let store = match ready_store(config).await {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut options = match crate::feed_options(config) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("mailgate: the feed settings are not usable, the MTA will retry: {e:#}");
            return ExitCode::from(EX_TEMPFAIL);
        }
    };
    options.feed = Some(feed.to_string());
    let index = rampart_web::service::routing::RouteIndex::new(&config.constituency.country);
    let mut failed = false;
    for file in files {
        let mut opts = options.clone();
        opts.format = opts.format_for(&file.filename, None);
        let result = rampart_web::service::feeds::ingest_bytes(
            &*store,
            &index,
            &rampart_store::Actor::System,
            &config.data_dir,
            &file.filename,
            &file.bytes,
            &opts,
        )
        .await;
        match result {
            Ok(s) => println!("{}: {} written, {} duplicates, {} quarantined", file.filename, s.written, s.duplicates, s.quarantined),
            Err(e) => {
                eprintln!("mailgate: {}: {e} (kept under feeds/incoming)", file.filename);
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::from(EX_DATAERR)
    } else {
        ExitCode::SUCCESS
    }
}
