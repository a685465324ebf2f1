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

pub async fn run(config: &Config, queue: Option<&str>) -> ExitCode {
    let mut raw = Vec::new();
    if let Err(e) = std::io::stdin().take(MAX_MESSAGE_BYTES + 1).read_to_end(&mut raw) {
        eprintln!("mailgate: reading the message failed: {e}");
        return ExitCode::from(EX_TEMPFAIL);
    }
    if raw.len() as u64 > MAX_MESSAGE_BYTES {
        eprintln!("mailgate: the message is larger than {MAX_MESSAGE_BYTES} bytes");
        return ExitCode::from(EX_DATAERR);
    }
    if raw.iter().all(u8::is_ascii_whitespace) {
        eprintln!("mailgate: empty message");
        return ExitCode::from(EX_DATAERR);
    }
    let store = match crate::open_store(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mailgate: the database is not available, the MTA will retry: {e:#}");
            return ExitCode::from(EX_TEMPFAIL);
        }
    };
    if let Err(e) = store.migrate().await {
        eprintln!("mailgate: the database is not ready, the MTA will retry: {e}");
        return ExitCode::from(EX_TEMPFAIL);
    }
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
