//! Outgoing notifications as complete RFC 5322 messages: the text, the events as an
//! attachment (CSV or X-ARF), and PGP/MIME (RFC 3156) signing with the CERT's key and
//! encryption to the recipient's key. The MIME is written here rather than by lettre,
//! because a signature covers exact bytes, and those must be the bytes transmitted.

use crate::template::{field_names, Event};
use crate::xarf::{xarf_report, XarfError, XarfReporter};
use chrono::{DateTime, Utc};
use data_encoding::BASE64;
use pgp::composed::{ArmorOptions, Deserializable, DetachedSignature, MessageBuilder, SignedPublicKey, SignedSecretKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::crypto::sym::SymmetricKeyAlgorithm;
use pgp::packet::{KeyFlags, Signature, SignatureType};
use pgp::types::{Fingerprint, KeyDetails, KeyId, Password};
use rand08::RngCore;
use serde::{Deserialize, Serialize};

/// How the events travel with a notification, as the recipient prefers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// A CSV attachment, for people and spreadsheets.
    TextCsv,
    /// One X-ARF v4 JSON report per event, for automated abuse desks.
    Xarf,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::TextCsv => "text_csv",
            Format::Xarf => "xarf",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Format {
    type Err = ComposeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "text_csv" => Ok(Format::TextCsv),
            "xarf" => Ok(Format::Xarf),
            other => Err(ComposeError::Format(other.to_string())),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("unknown notification format {0:?} (known: text_csv, xarf)")]
    Format(String),
    #[error("invalid {header} {value:?}: {reason}")]
    Header { header: &'static str, value: String, reason: &'static str },
    #[error("invalid attachment {filename:?}: {reason}")]
    Attachment { filename: String, reason: String },
    #[error("{what} is not usable: {reason}")]
    Key { what: &'static str, reason: String },
    #[error("the CERT's signing key could not sign ({0}); is the passphrase right?")]
    Unlock(String),
    #[error("signing the message failed: {0}")]
    Sign(String),
    #[error("encrypting the message failed: {0}")]
    Encrypt(String),
    #[error(transparent)]
    Xarf(#[from] XarfError),
}

/// A file attached to a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

/// Everything a notification message consists of.
#[derive(Debug, Clone)]
pub struct Composition<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub cc: &'a [String],
    pub subject: &'a str,
    pub body: &'a str,
    /// With the angle brackets, e.g. `<0195…@cert.example.tw>`.
    pub message_id: &'a str,
    pub in_reply_to: Option<&'a str>,
    pub date: DateTime<Utc>,
    pub attachments: Vec<Attachment>,
}

/// What Rampart found out about a public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    /// Upper-case hex, no spaces.
    pub fingerprint: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub can_encrypt: bool,
    pub user_ids: Vec<String>,
}

/// The CERT's key, for signing notifications.
pub struct Signer {
    key: SignedSecretKey,
    passphrase: String,
    signing: SigningKeyRef,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SigningKeyRef {
    Primary,
    /// Index into `secret_subkeys`.
    Subkey(usize),
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("fingerprint", &self.fingerprint()).field("signing", &self.signing).finish_non_exhaustive()
    }
}

const SIGNER: &str = "the CERT's signing key";
const RECIPIENT: &str = "the recipient's key";

impl Signer {
    /// Checks the key (self-signatures, expiry, a signing-capable key) and that the
    /// passphrase unlocks it, so that a mistake shows at start-up and not at the first
    /// notification.
    pub fn new(key: SignedSecretKey, passphrase: &str) -> Result<Signer, ComposeError> {
        let checked = check_certificate(key.to_public_key(), SIGNER, Utc::now())?;
        let refuse = |reason: &str| ComposeError::Key { what: SIGNER, reason: reason.to_string() };
        let signing = match checked.signing {
            None => return Err(refuse("it has no valid key that may be used for signing")),
            Some(Usable::Primary) => SigningKeyRef::Primary,
            Some(Usable::Subkey(i)) => {
                let fingerprint = checked.key.public_subkeys.get(i).map(|s| s.key.fingerprint());
                let index = key.secret_subkeys.iter().position(|s| Some(s.key.fingerprint()) == fingerprint);
                SigningKeyRef::Subkey(index.ok_or_else(|| refuse("the secret part of its signing subkey is missing"))?)
            }
        };
        let signer = Signer { key, passphrase: passphrase.to_string(), signing };
        signer.detached(b"rampart").map_err(ComposeError::Unlock)?;
        Ok(signer)
    }

    /// Reads an armored secret key (`-----BEGIN PGP PRIVATE KEY BLOCK-----`).
    pub fn from_armored(text: &str, passphrase: &str) -> Result<Signer, ComposeError> {
        let (key, _) = SignedSecretKey::from_string(text.trim())
            .map_err(|e| ComposeError::Key { what: SIGNER, reason: format!("it does not parse as an armored OpenPGP secret key ({e})") })?;
        Signer::new(key, passphrase)
    }

    /// The public half, for publishing and for recipients to verify against.
    pub fn public_key(&self) -> SignedPublicKey {
        self.key.to_public_key()
    }

    pub fn fingerprint(&self) -> String {
        format!("{:X}", self.key.primary_key.fingerprint())
    }

    /// A detached signature over exactly `data` (binary, SHA-256).
    fn detached(&self, data: &[u8]) -> Result<DetachedSignature, String> {
        let rng = rand08::thread_rng();
        let password = Password::from(self.passphrase.as_str());
        let signed = match self.signing {
            SigningKeyRef::Primary => {
                DetachedSignature::sign_binary_data(rng, &self.key.primary_key, &password, HashAlgorithm::Sha256, data)
            }
            SigningKeyRef::Subkey(i) => match self.key.secret_subkeys.get(i) {
                Some(subkey) => DetachedSignature::sign_binary_data(rng, &subkey.key, &password, HashAlgorithm::Sha256, data),
                None => return Err("the signing subkey is missing".into()),
            },
        };
        signed.map_err(|e| e.to_string())
    }
}

/// Reads a recipient's armored public key and checks that mail can be encrypted to it:
/// it parses, its self-signatures verify, it is neither expired nor revoked, and it has
/// a valid encryption-capable (sub)key.
pub fn public_key_from_armored(text: &str) -> Result<(SignedPublicKey, KeyInfo), ComposeError> {
    let (key, _) = SignedPublicKey::from_string(text.trim())
        .map_err(|e| ComposeError::Key { what: RECIPIENT, reason: format!("it does not parse as an armored OpenPGP public key ({e})") })?;
    let checked = check_certificate(key, RECIPIENT, Utc::now())?;
    if checked.encryption.is_none() {
        return Err(ComposeError::Key { what: RECIPIENT, reason: "it has no valid key that may be used for encryption".into() });
    }
    Ok((checked.key, checked.info))
}

/// Which key of a certificate does a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Usable {
    Primary,
    /// Index into `public_subkeys`.
    Subkey(usize),
}

/// A certificate whose self-signatures verified, with what it can do now.
struct Checked {
    /// Without third-party certifications, which cannot be verified here.
    key: SignedPublicKey,
    info: KeyInfo,
    encryption: Option<Usable>,
    signing: Option<Usable>,
}

/// Made by this key, as far as its issuer subpackets tell; one naming no issuer is kept,
/// and its verification decides.
fn issued_by(sig: &Signature, fingerprint: &Fingerprint, key_id: &KeyId) -> bool {
    let fingerprints = sig.issuer_fingerprint();
    let key_ids = sig.issuer_key_id();
    (fingerprints.is_empty() && key_ids.is_empty())
        || fingerprints.into_iter().any(|f| f == fingerprint)
        || key_ids.into_iter().any(|k| k == key_id)
}

fn newest<'a>(sigs: impl Iterator<Item = &'a Signature>) -> Option<&'a Signature> {
    sigs.max_by_key(|s| s.created().map_or(0, |t| t.as_secs()))
}

fn can_encrypt(flags: &KeyFlags, algorithm_can: bool) -> bool {
    // A self-signature without key flags leaves it to the algorithm, as GnuPG does.
    algorithm_can && (*flags == KeyFlags::default() || flags.encrypt_comms() || flags.encrypt_storage())
}

fn can_sign(flags: &KeyFlags, algorithm_can: bool) -> bool {
    algorithm_can && (*flags == KeyFlags::default() || flags.sign())
}

fn check_certificate(mut key: SignedPublicKey, what: &'static str, now: DateTime<Utc>) -> Result<Checked, ComposeError> {
    let refuse = |reason: String| ComposeError::Key { what, reason };
    let fingerprint = key.primary_key.fingerprint();
    let key_id = key.primary_key.legacy_key_id();
    // Keys from keyservers carry certifications by others; only self-signatures count here.
    let details = &mut key.details;
    for user in &mut details.users {
        user.signatures.retain(|s| issued_by(s, &fingerprint, &key_id));
    }
    details.users.retain(|u| !u.signatures.is_empty());
    for attribute in &mut details.user_attributes {
        attribute.signatures.retain(|s| issued_by(s, &fingerprint, &key_id));
    }
    details.user_attributes.retain(|a| !a.signatures.is_empty());
    details.direct_signatures.retain(|s| issued_by(s, &fingerprint, &key_id));
    details.revocation_signatures.retain(|s| issued_by(s, &fingerprint, &key_id));
    if key.details.users.is_empty() && key.details.direct_signatures.is_empty() {
        return Err(refuse("it has no user ID with a valid self-signature".into()));
    }
    key.verify_bindings().map_err(|e| refuse(format!("its self-signatures do not verify ({e})")))?;
    if !key.details.revocation_signatures.is_empty() {
        return Err(refuse("it has been revoked".into()));
    }

    let self_signature = newest(key.details.direct_signatures.iter().chain(key.details.users.iter().flat_map(|u| u.signatures.iter())));
    let created = i64::from(key.primary_key.created_at().as_secs());
    let expires_at = self_signature
        .and_then(Signature::key_expiration_time)
        .map(|d| d.as_secs())
        .filter(|&secs| secs > 0)
        .and_then(|secs| DateTime::from_timestamp(created + i64::from(secs), 0));
    if let Some(at) = expires_at {
        if at <= now {
            return Err(refuse(format!("it expired on {}", at.format("%Y-%m-%d %H:%M UTC"))));
        }
    }

    let flags = self_signature.map(Signature::key_flags).unwrap_or_default();
    let algorithm = key.primary_key.algorithm();
    let mut encryption = can_encrypt(&flags, algorithm.can_encrypt()).then_some(Usable::Primary);
    let mut signing = can_sign(&flags, algorithm.can_sign()).then_some(Usable::Primary);
    // Among valid subkeys the newest wins, as in GnuPG.
    let mut newest_encryption = 0;
    let mut newest_signing = 0;
    for (i, subkey) in key.public_subkeys.iter().enumerate() {
        if subkey.signatures.iter().any(|s| s.typ() == Some(SignatureType::SubkeyRevocation)) {
            continue;
        }
        let Some(binding) = newest(subkey.signatures.iter().filter(|s| s.typ() == Some(SignatureType::SubkeyBinding))) else {
            continue;
        };
        let sub_created = subkey.key.created_at().as_secs();
        if let Some(lifetime) = binding.key_expiration_time().map(|d| d.as_secs()).filter(|&secs| secs > 0) {
            if i64::from(sub_created) + i64::from(lifetime) <= now.timestamp() {
                continue;
            }
        }
        let flags = binding.key_flags();
        let algorithm = subkey.key.algorithm();
        if can_encrypt(&flags, algorithm.can_encrypt()) && sub_created >= newest_encryption {
            encryption = Some(Usable::Subkey(i));
            newest_encryption = sub_created;
        }
        if flags.sign() && algorithm.can_sign() && sub_created >= newest_signing {
            signing = Some(Usable::Subkey(i));
            newest_signing = sub_created;
        }
    }

    let info = KeyInfo {
        fingerprint: format!("{fingerprint:X}"),
        expires_at,
        can_encrypt: encryption.is_some(),
        user_ids: key.details.users.iter().map(|u| String::from_utf8_lossy(u.id.id()).into_owned()).collect(),
    };
    Ok(Checked { key, info, encryption, signing })
}

/// Builds the complete message, signed when a signer is given and then encrypted when
/// a recipient key is given.
pub fn compose(c: &Composition, signer: Option<&Signer>, encrypt_to: Option<&SignedPublicKey>) -> Result<Vec<u8>, ComposeError> {
    let mut head = String::new();
    head.push_str(&format!("From: {}\r\n", mailbox("From", c.from)?));
    head.push_str(&format!("To: {}\r\n", mailbox("To", c.to)?));
    if !c.cc.is_empty() {
        let cc = c.cc.iter().map(|a| mailbox("Cc", a)).collect::<Result<Vec<_>, _>>()?;
        head.push_str(&format!("Cc: {}\r\n", cc.join(",\r\n ")));
    }
    head.push_str(&subject_header(c.subject));
    head.push_str(&format!("Date: {}\r\n", c.date.to_rfc2822()));
    head.push_str(&format!("Message-ID: {}\r\n", message_id("Message-ID", c.message_id)?));
    if let Some(parent) = c.in_reply_to {
        let parent = message_id("In-Reply-To", parent)?;
        head.push_str(&format!("In-Reply-To: {parent}\r\nReferences: {parent}\r\n"));
    }
    head.push_str("MIME-Version: 1.0\r\n");
    head.push_str("Auto-Submitted: auto-generated\r\n");

    let mut entity = if c.attachments.is_empty() {
        text_entity(c.body)
    } else {
        let mut parts = vec![text_entity(c.body).to_bytes()];
        for attachment in &c.attachments {
            parts.push(attachment_entity(attachment)?.to_bytes());
        }
        multipart("mixed", "", None, &parts)
    };
    if let Some(signer) = signer {
        entity = sign_entity(&entity, signer)?;
    }
    if let Some(key) = encrypt_to {
        entity = encrypt_entity(&entity, key)?;
    }
    let mut out = head.into_bytes();
    out.extend_from_slice(&entity.to_bytes());
    Ok(out)
}

/// The events as attachments in the recipient's format: one CSV file, or one X-ARF
/// report per event. No events, no attachments.
pub fn event_attachments(
    format: Format,
    events: &[Event],
    reference: &str,
    reporter: &XarfReporter,
) -> Result<Vec<Attachment>, ComposeError> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let stem = file_stem(reference);
    match format {
        Format::TextCsv => Ok(vec![Attachment {
            filename: format!("{stem}.csv"),
            content_type: "text/csv; charset=utf-8; header=present".into(),
            data: events_csv(events),
        }]),
        Format::Xarf => events
            .iter()
            .enumerate()
            .map(|(i, event)| -> Result<Attachment, ComposeError> {
                let report = xarf_report(event, reporter, &uuid::Uuid::now_v7().to_string())?;
                let data = serde_json::to_vec_pretty(&report)
                    .map_err(|e| ComposeError::Attachment { filename: format!("{stem}-{}.json", i + 1), reason: e.to_string() })?;
                Ok(Attachment { filename: format!("{stem}-{:04}.json", i + 1), content_type: "application/json".into(), data })
            })
            .collect(),
    }
}

fn file_stem(reference: &str) -> String {
    let stem: String =
        reference.trim().chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).take(80).collect();
    if stem.is_empty() {
        "events".into()
    } else {
        stem
    }
}

/// The events as CSV (RFC 4180, CRLF): a header of every field name in the order first
/// seen, then one row per event. A cell that a spreadsheet would run as a formula
/// (starting with `=`, `+`, `-`, `@`, tab or CR) gets a leading `'`.
pub fn events_csv(events: &[Event]) -> Vec<u8> {
    let names = field_names(events);
    let mut out = String::new();
    push_csv_row(&mut out, names.iter().map(String::as_str));
    for event in events {
        push_csv_row(&mut out, names.iter().map(|n| event.0.get(n).map_or("", String::as_str)));
    }
    out.into_bytes()
}

fn push_csv_row<'a>(out: &mut String, cells: impl Iterator<Item = &'a str>) {
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&csv_cell(cell));
    }
    out.push_str("\r\n");
}

fn csv_cell(value: &str) -> String {
    let mut cell = String::with_capacity(value.len() + 1);
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        cell.push('\'');
    }
    cell.push_str(value);
    let quote = cell.contains([',', '"', '\r', '\n']) || cell.starts_with(' ') || cell.ends_with(' ');
    if quote {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell
    }
}

/// A MIME entity: header lines (each ending in CRLF) and the body.
#[derive(Debug, Clone)]
struct Entity {
    headers: String,
    body: Vec<u8>,
}

impl Entity {
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.headers.len() + 2 + self.body.len());
        out.extend_from_slice(self.headers.as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}

fn text_entity(body: &str) -> Entity {
    Entity {
        headers: "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n".into(),
        body: quoted_printable(body).into_bytes(),
    }
}

fn attachment_entity(a: &Attachment) -> Result<Entity, ComposeError> {
    let content_type = a.content_type.trim();
    let valid_type = content_type.contains('/') && content_type.chars().all(|c| c.is_ascii() && !c.is_ascii_control());
    if !valid_type {
        return Err(ComposeError::Attachment { filename: a.filename.clone(), reason: format!("bad content type {content_type:?}") });
    }
    let filename: String = a.filename.trim().chars().map(|c| if c.is_control() || matches!(c, '/' | '\\') { '_' } else { c }).collect();
    let filename = if filename.is_empty() { "attachment.bin".to_string() } else { filename };
    Ok(Entity {
        headers: format!(
            "Content-Type: {content_type};\r\n {}\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment;\r\n {}\r\n",
            parameter("name", &filename),
            parameter("filename", &filename)
        ),
        body: base64_lines(&a.data).into_bytes(),
    })
}

/// A MIME parameter: quoted when plain ASCII, else RFC 2231 (`name*=utf-8''…`).
fn parameter(name: &str, value: &str) -> String {
    if value.chars().all(|c| c.is_ascii() && !c.is_ascii_control() && c != '"' && c != '\\') {
        return format!("{name}=\"{value}\"");
    }
    let mut encoded = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push('%');
            push_hex(&mut encoded, b);
        }
    }
    format!("{name}*=utf-8''{encoded}")
}

fn push_hex(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push(char::from(HEX[usize::from(b >> 4)]));
    out.push(char::from(HEX[usize::from(b & 0x0f)]));
}

/// Base64 in lines of 76 characters, each ending in CRLF.
fn base64_lines(data: &[u8]) -> String {
    let encoded = BASE64.encode(data);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 38 + 2);
    for line in encoded.as_bytes().chunks(76) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push_str("\r\n");
    }
    out
}

/// Quoted-printable (RFC 2045) with CRLF line ends and lines of at most 76 characters.
/// A "From " or "." at the start of a line is encoded too, so that no mail system on
/// the way alters signed text.
fn quoted_printable(text: &str) -> String {
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(normalized.len() * 2);
    for (n, line) in normalized.split('\n').enumerate() {
        if n > 0 {
            out.push_str("\r\n");
        }
        let bytes = line.as_bytes();
        let mut len = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let last = i + 1 == bytes.len();
            let mut literal = match b {
                b' ' | b'\t' => !last,
                b'=' => false,
                33..=126 => true,
                _ => false,
            };
            if len == 0 && (b == b'.' || (b == b'F' && bytes[i..].starts_with(b"From "))) {
                literal = false;
            }
            let width = if literal { 1 } else { 3 };
            if len + width > 75 {
                out.push_str("=\r\n");
                len = 0;
                // The new line may now start with "From " or ".".
                if b == b'.' || (b == b'F' && bytes[i..].starts_with(b"From ")) {
                    literal = false;
                }
            }
            if literal {
                out.push(char::from(b));
                len += 1;
            } else {
                out.push('=');
                push_hex(&mut out, b);
                len += 3;
            }
        }
    }
    out
}

/// RFC 2047 encoded words of at most 64 characters, split between characters.
fn encoded_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        if chunk.len() + c.len_utf8() > 39 {
            words.push(format!("=?UTF-8?B?{}?=", BASE64.encode(chunk.as_bytes())));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(format!("=?UTF-8?B?{}?=", BASE64.encode(chunk.as_bytes())));
    }
    words
}

fn subject_header(subject: &str) -> String {
    let clean: String = subject.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let clean = clean.trim();
    if !clean.is_ascii() || clean.contains("=?") {
        return format!("Subject: {}\r\n", encoded_words(clean).join("\r\n "));
    }
    // Fold long ASCII subjects at spaces, keeping lines near 78 characters.
    let mut out = String::from("Subject:");
    let mut line = out.len();
    for (i, word) in clean.split(' ').enumerate() {
        if i > 0 && line + 1 + word.len() > 78 {
            out.push_str("\r\n");
            line = 0;
        }
        out.push(' ');
        out.push_str(word);
        line += 1 + word.len();
    }
    out.push_str("\r\n");
    out
}

/// One mailbox, `address` or `Name <address>`, with a non-ASCII name encoded.
fn mailbox(header: &'static str, value: &str) -> Result<String, ComposeError> {
    let bad = |reason: &'static str| ComposeError::Header { header, value: value.to_string(), reason };
    if value.chars().any(char::is_control) {
        return Err(bad("line breaks and control characters are not allowed"));
    }
    let value = value.trim();
    let (name, address) = match value.rfind('<') {
        Some(open) if value.ends_with('>') => (value[..open].trim(), value[open + 1..value.len() - 1].trim()),
        _ => ("", value),
    };
    let plain = address.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
    let allowed =
        address.chars().all(|c| c.is_ascii_graphic() && !matches!(c, '<' | '>' | '(' | ')' | ',' | ';' | ':' | '"' | '[' | ']' | '\\'));
    if !plain || !allowed {
        return Err(bad("not an e-mail address"));
    }
    let name = name.trim_matches('"').trim();
    Ok(if name.is_empty() {
        address.to_string()
    } else if name.is_ascii() {
        format!("\"{}\" <{address}>", name.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        format!("{}\r\n <{address}>", encoded_words(name).join("\r\n "))
    })
}

fn message_id(header: &'static str, value: &str) -> Result<String, ComposeError> {
    let id = value.trim();
    let valid = id.len() <= 250
        && id.starts_with('<')
        && id.ends_with('>')
        && id.contains('@')
        && id.chars().all(|c| c.is_ascii_graphic())
        && !id[1..].contains('<')
        && !id[..id.len() - 1].contains('>');
    if valid {
        Ok(id.to_string())
    } else {
        Err(ComposeError::Header { header, value: value.to_string(), reason: "not a message id like <id@domain>" })
    }
}

fn boundary() -> String {
    let mut bytes = [0u8; 12];
    rand08::thread_rng().fill_bytes(&mut bytes);
    // "=_" cannot occur in quoted-printable or base64 text, so the boundary cannot either.
    format!("=_rampart_{}", data_encoding::HEXLOWER.encode(&bytes))
}

/// A multipart entity; each part is a complete entity (headers, blank line, body).
fn multipart(subtype: &str, parameters: &str, preamble: Option<&str>, parts: &[Vec<u8>]) -> Entity {
    let boundary = boundary();
    let mut body = Vec::new();
    if let Some(preamble) = preamble {
        body.extend_from_slice(preamble.as_bytes());
        body.extend_from_slice(b"\r\n");
    }
    for part in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        body.extend_from_slice(part);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Entity { headers: format!("Content-Type: multipart/{subtype}{parameters};\r\n boundary=\"{boundary}\"\r\n"), body }
}

fn crlf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\n', "\r\n")
}

/// RFC 3156 multipart/signed: the entity's exact bytes, then a detached signature over them.
fn sign_entity(inner: &Entity, signer: &Signer) -> Result<Entity, ComposeError> {
    let signed = inner.to_bytes();
    let signature = signer.detached(&signed).map_err(ComposeError::Sign)?;
    let armored = signature.to_armored_string(ArmorOptions::default()).map_err(|e| ComposeError::Sign(e.to_string()))?;
    let signature_part = Entity {
        headers: "Content-Type: application/pgp-signature; name=\"signature.asc\"\r\n\
                  Content-Description: OpenPGP digital signature\r\n\
                  Content-Disposition: attachment; filename=\"signature.asc\"\r\n"
            .into(),
        body: crlf(&armored).into_bytes(),
    };
    Ok(multipart(
        "signed",
        "; micalg=pgp-sha256;\r\n protocol=\"application/pgp-signature\"",
        Some("This is an OpenPGP/MIME signed message (RFC 4880 and 3156)"),
        &[signed, signature_part.to_bytes()],
    ))
}

/// RFC 3156 multipart/encrypted: the entity encrypted to the recipient (SEIPD v1, AES-256,
/// which every GnuPG since 1.4 reads).
fn encrypt_entity(inner: &Entity, key: &SignedPublicKey) -> Result<Entity, ComposeError> {
    let checked = check_certificate(key.clone(), RECIPIENT, Utc::now())?;
    let encryption_failed = |e: pgp::errors::Error| ComposeError::Encrypt(e.to_string());
    let mut rng = rand08::thread_rng();
    let mut builder = MessageBuilder::from_bytes("", inner.to_bytes()).seipd_v1(&mut rng, SymmetricKeyAlgorithm::AES256);
    match checked.encryption {
        Some(Usable::Primary) => {
            builder.encrypt_to_key(&mut rng, &checked.key).map_err(encryption_failed)?;
        }
        Some(Usable::Subkey(i)) => {
            let subkey = checked.key.public_subkeys.get(i).ok_or_else(|| ComposeError::Encrypt("the encryption subkey vanished".into()))?;
            builder.encrypt_to_key(&mut rng, subkey).map_err(encryption_failed)?;
        }
        None => {
            return Err(ComposeError::Key { what: RECIPIENT, reason: "it has no valid key that may be used for encryption".into() });
        }
    }
    let armored = builder.to_armored_string(&mut rng, ArmorOptions::default()).map_err(encryption_failed)?;
    let version = Entity {
        headers: "Content-Type: application/pgp-encrypted\r\nContent-Description: PGP/MIME version identification\r\n".into(),
        body: b"Version: 1\r\n".to_vec(),
    };
    let payload = Entity {
        headers: "Content-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\
                  Content-Description: OpenPGP encrypted message\r\n\
                  Content-Disposition: inline; filename=\"encrypted.asc\"\r\n"
            .into(),
        body: crlf(&armored).into_bytes(),
    };
    Ok(multipart(
        "encrypted",
        "; protocol=\"application/pgp-encrypted\"",
        Some("This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)"),
        &[version.to_bytes(), payload.to_bytes()],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openpgp::tests::key as key_with_signing_subkey;
    use crate::openpgp::{armored_block, Keyring};
    use pgp::composed::{EncryptionCaps, KeyType, SecretKeyParamsBuilder, SubkeyParamsBuilder};
    use pgp::crypto::ecc_curve::ECCCurve;
    use pgp::packet::UserId;
    use pgp::types::PacketHeaderVersion;
    use std::path::Path;
    use std::process::{Command, Output};

    const GPG: &str = "/usr/bin/gpg";

    /// A key like the CERT's: a signing primary key and an encryption subkey.
    fn cert_key(uid: &str, passphrase: Option<&str>) -> SignedSecretKey {
        let mut encrypt = SubkeyParamsBuilder::default();
        encrypt
            .key_type(KeyType::ECDH(ECCCurve::Curve25519Legacy))
            .can_sign(false)
            .can_encrypt(EncryptionCaps::All)
            .can_authenticate(false);
        let mut params = SecretKeyParamsBuilder::default();
        params
            .key_type(KeyType::Ed25519Legacy)
            .can_certify(true)
            .can_sign(true)
            .can_encrypt(EncryptionCaps::None)
            .primary_user_id(uid.into())
            .passphrase(passphrase.map(str::to_string))
            .subkeys(vec![encrypt.build().unwrap()]);
        params.build().unwrap().generate(rand08::thread_rng()).unwrap()
    }

    /// A key that can sign but not encrypt.
    fn signing_only_key(uid: &str) -> SignedSecretKey {
        let mut params = SecretKeyParamsBuilder::default();
        params.key_type(KeyType::Ed25519Legacy).can_certify(true).can_sign(true).primary_user_id(uid.into());
        params.build().unwrap().generate(rand08::thread_rng()).unwrap()
    }

    fn ev(pairs: &[(&str, &str)]) -> Event {
        pairs.iter().copied().collect()
    }

    fn reporter() -> XarfReporter {
        XarfReporter { org: "Example CERT".into(), contact: "cert@cert.example.tw".into(), domain: "cert.example.tw".into() }
    }

    fn events() -> Vec<Event> {
        vec![
            ev(&[("source.ip", "192.0.2.10"), ("source.port", "3389"), ("classification.type", "vulnerable-service")]),
            ev(&[("source.ip", "192.0.2.11"), ("extra.note", "=HYPERLINK(\"http://evil.example\")")]),
        ]
    }

    fn composition<'a>(cc: &'a [String], subject: &'a str, body: &'a str, attachments: Vec<Attachment>) -> Composition<'a> {
        Composition {
            from: "Example CERT <cert@cert.example.tw>",
            to: "SOC <soc@hospital.example.tw>",
            cc,
            subject,
            body,
            message_id: "<0195a3c2.notification@cert.example.tw>",
            in_reply_to: Some("<parent@hospital.example.tw>"),
            date: DateTime::from_timestamp(1_772_359_200, 0).unwrap(),
            attachments,
        }
    }

    fn assert_crlf_7bit(raw: &[u8]) {
        assert!(raw.is_ascii(), "the message is not 7-bit");
        for (i, &b) in raw.iter().enumerate() {
            if b == b'\n' {
                assert!(i > 0 && raw[i - 1] == b'\r', "bare LF at byte {i}");
            }
            if b == b'\r' {
                assert_eq!(raw.get(i + 1), Some(&b'\n'), "bare CR at byte {i}");
            }
        }
        let text = std::str::from_utf8(raw).unwrap();
        for line in text.split("\r\n") {
            assert!(line.len() <= 78, "line longer than 78 characters: {line:?}");
        }
    }

    /// The exact bytes of the first part of the outermost multipart entity, and its second part.
    fn split_multipart(raw: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let text = std::str::from_utf8(raw).unwrap();
        let start = text.find("boundary=\"").unwrap() + "boundary=\"".len();
        let boundary = &text[start..start + text[start..].find('"').unwrap()];
        let opening = format!("--{boundary}\r\n");
        let delimiter = format!("\r\n--{boundary}");
        let first = text.find(&opening).unwrap() + opening.len();
        let first_end = first + text[first..].find(&delimiter).unwrap();
        let second = first_end + delimiter.len() + 2;
        let second_end = second + text[second..].find(&delimiter).unwrap();
        (raw[first..first_end].to_vec(), raw[second..second_end].to_vec())
    }

    fn decode_qp(qp: &str) -> String {
        let joined = qp.replace("=\r\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'=' {
                out.push(u8::from_str_radix(&joined[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    /// GnuPG with a keyring of its own, when installed.
    struct GnuPg {
        home: tempfile::TempDir,
    }

    impl GnuPg {
        fn new() -> Option<GnuPg> {
            if !Path::new(GPG).exists() {
                eprintln!("note: {GPG} is not installed; skipping the GnuPG part of this test");
                return None;
            }
            Some(GnuPg { home: tempfile::tempdir().unwrap() })
        }

        fn run(&self, args: &[&str]) -> Output {
            Command::new(GPG).env("GNUPGHOME", self.home.path()).args(["--batch", "--no-tty"]).args(args).output().unwrap()
        }

        fn file(&self, name: &str, data: &[u8]) -> String {
            let path = self.home.path().join(name);
            std::fs::write(&path, data).unwrap();
            path.to_str().unwrap().to_string()
        }

        fn import(&self, armored: &str) {
            let file = self.file("import.asc", armored.as_bytes());
            let out = self.run(&["--import", &file]);
            assert!(out.status.success(), "gpg --import: {}", String::from_utf8_lossy(&out.stderr));
        }

        fn verify(&self, signature: &str, data: &[u8]) -> Output {
            let signature = self.file("signature.asc", signature.as_bytes());
            let data = self.file("signed.bin", data);
            self.run(&["--verify", &signature, &data])
        }

        /// A key made by GnuPG, exported armored.
        fn generate(&self, uid: &str, algorithm: &str, usage: &str, expire: &str, faked_time: Option<&str>) -> String {
            let mut args = vec!["--pinentry-mode", "loopback", "--passphrase", ""];
            if let Some(time) = faked_time {
                args.extend(["--faked-system-time", time]);
            }
            args.extend(["--quick-gen-key", uid, algorithm, usage, expire]);
            let out = self.run(&args);
            assert!(out.status.success(), "gpg --quick-gen-key: {}", String::from_utf8_lossy(&out.stderr));
            let out = self.run(&["--armor", "--export", uid]);
            assert!(out.status.success(), "gpg --export: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap()
        }
    }

    impl Drop for GnuPg {
        fn drop(&mut self) {
            let _ = Command::new("gpgconf").env("GNUPGHOME", self.home.path()).args(["--kill", "gpg-agent"]).output();
        }
    }

    #[test]
    fn csv_is_quoted_and_formulas_are_defused() {
        assert_eq!(csv_cell("192.0.2.1"), "192.0.2.1");
        assert_eq!(csv_cell(""), "");
        assert_eq!(csv_cell("=1+1"), "'=1+1");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("-1"), "'-1");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("\tx"), "'\tx");
        assert_eq!(csv_cell("\rx"), "\"'\rx\"");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_cell(" padded"), "\" padded\"");
        let csv = String::from_utf8(events_csv(&events())).unwrap();
        assert_eq!(
            csv,
            "classification.type,source.ip,source.port,extra.note\r\n\
             vulnerable-service,192.0.2.10,3389,\r\n\
             ,192.0.2.11,,\"'=HYPERLINK(\"\"http://evil.example\"\")\"\r\n"
        );
        assert_eq!(events_csv(&[]), b"\r\n");
    }

    #[test]
    fn formats_have_wire_names() {
        assert_eq!("text_csv".parse::<Format>().unwrap(), Format::TextCsv);
        assert_eq!("xarf".parse::<Format>().unwrap(), Format::Xarf);
        assert!("pdf".parse::<Format>().is_err());
        assert_eq!(serde_json::to_string(&Format::TextCsv).unwrap(), "\"text_csv\"");
        assert_eq!(serde_json::from_str::<Format>("\"xarf\"").unwrap(), Format::Xarf);
        let xarf = event_attachments(Format::Xarf, &events()[..1], "NTF-2026-000042", &reporter());
        // The first event has no time, so X-ARF refuses it and says why.
        assert!(matches!(xarf, Err(ComposeError::Xarf(_))));
        let mut timed = events();
        timed.truncate(1);
        timed[0].0.insert("time.source".into(), "2026-03-01T10:00:00+00:00".into());
        let files = event_attachments(Format::Xarf, &timed, "NTF-2026-000042", &reporter()).unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].filename, "NTF-2026-000042-0001.json");
        let report: serde_json::Value = serde_json::from_slice(&files[0].data).unwrap();
        assert_eq!(report["source_identifier"], "192.0.2.10");
        assert!(event_attachments(Format::TextCsv, &[], "x", &reporter()).unwrap().is_empty());
    }

    #[test]
    fn quoted_printable_keeps_lines_short_and_text_intact() {
        let text = format!("From the start\n.\nTrailing space \nCafé = 咖啡\n{}\n", "x".repeat(200));
        let qp = quoted_printable(&text);
        assert!(qp.split("\r\n").all(|l| l.len() <= 76), "{qp}");
        assert!(qp.starts_with("=46rom the start\r\n=2E\r\nTrailing space=20\r\nCaf=C3=A9 =3D =E5=92=96=E5=95=A1\r\n"), "{qp}");
        assert_eq!(decode_qp(&qp), text.replace('\n', "\r\n"));
        let lines = base64_lines(&[7u8; 200]);
        assert!(lines.split("\r\n").all(|l| l.len() <= 76));
        assert_eq!(BASE64.decode(lines.replace("\r\n", "").as_bytes()).unwrap(), vec![7u8; 200]);
    }

    #[test]
    fn headers_are_encoded_and_checked() {
        assert_eq!(mailbox("To", "soc@hospital.example.tw").unwrap(), "soc@hospital.example.tw");
        assert_eq!(mailbox("To", "SOC Team <soc@hospital.example.tw>").unwrap(), "\"SOC Team\" <soc@hospital.example.tw>");
        assert!(mailbox("To", "範例醫院 <soc@hospital.example.tw>").unwrap().starts_with("=?UTF-8?B?"));
        assert!(mailbox("To", "a@b.tw\r\nBcc: x@y.tw").is_err());
        assert!(mailbox("To", "not an address").is_err());
        assert!(mailbox("To", "<>").is_err());
        assert!(message_id("Message-ID", "no-brackets@x").is_err());
        assert!(message_id("Message-ID", "<a b@x>").is_err());
        assert_eq!(message_id("Message-ID", " <a@x> ").unwrap(), "<a@x>");
        let ascii = subject_header(&"word ".repeat(40));
        assert!(ascii.split("\r\n").all(|l| l.len() <= 78), "{ascii}");
        let chinese = subject_header(&"資安".repeat(40));
        assert!(chinese.split("\r\n").all(|l| l.len() <= 78), "{chinese}");
        assert_eq!(subject_header("Hi\r\nBcc: x@y.tw"), "Subject: Hi  Bcc: x@y.tw\r\n");
    }

    #[test]
    fn the_message_parses_with_the_right_headers_and_attachment() {
        let attachments = event_attachments(Format::TextCsv, &events(), "NTF-2026-000042", &reporter()).unwrap();
        let cc = vec!["Chen Wei <wei.chen@hospital.example.tw>".to_string()];
        let subject = "[NTF-2026-000042] 資安事件通知：範例醫院有 2 筆「vulnerable-service」事件";
        let body = format!("範例醫院 資安負責人您好：\n\nFrom the data feed we saw 192.0.2.10.\n{}\n", "long line ".repeat(20));
        let c = composition(&cc, subject, &body, attachments.clone());
        let raw = compose(&c, None, None).unwrap();
        assert_crlf_7bit(&raw);
        let text = std::str::from_utf8(&raw).unwrap();
        assert!(text.contains("\r\nAuto-Submitted: auto-generated\r\n"), "{text}");
        assert!(text.contains("\r\nMIME-Version: 1.0\r\n"));

        let mail = crate::intake::parse(&raw).unwrap();
        assert_eq!(mail.from_address.as_deref(), Some("cert@cert.example.tw"));
        assert_eq!(mail.from_name.as_deref(), Some("Example CERT"));
        assert_eq!(mail.subject, subject);
        assert_eq!(mail.message_id.as_deref(), Some("0195a3c2.notification@cert.example.tw"));
        assert_eq!(mail.references.iter().map(ToString::to_string).collect::<Vec<_>>(), ["NTF-2026-000042"]);
        assert_eq!(mail.text.replace("\r\n", "\n").trim_end(), body.trim_end());
        assert_eq!(mail.attachments.len(), 1, "{:?}", mail.attachments);
        assert_eq!(mail.attachments[0].filename, "NTF-2026-000042.csv");
        assert_eq!(mail.attachments[0].content_type, "text/csv");
        assert_eq!(mail.attachments[0].bytes, attachments[0].data);
        assert!(!mail.signed && !mail.encrypted);

        let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
        assert_eq!(parsed.in_reply_to().as_text(), Some("parent@hospital.example.tw"));
        assert_eq!(parsed.references().as_text(), Some("parent@hospital.example.tw"));
        assert_eq!(parsed.to().and_then(|a| a.first()).and_then(|a| a.address()), Some("soc@hospital.example.tw"));
        assert_eq!(parsed.cc().and_then(|a| a.first()).and_then(|a| a.address()), Some("wei.chen@hospital.example.tw"));
        assert_eq!(parsed.date().map(|d| d.to_timestamp()), Some(c.date.timestamp()));

        // Without attachments the message is a single text/plain part.
        let plain = compose(&composition(&[], "Hello", "Just text.\n", Vec::new()), None, None).unwrap();
        assert_crlf_7bit(&plain);
        assert!(std::str::from_utf8(&plain).unwrap().contains("Content-Type: text/plain; charset=utf-8\r\n"));
        assert_eq!(crate::intake::parse(&plain).unwrap().text.trim_end(), "Just text.");

        // Header injection is refused.
        let bad = Composition { to: "x@y.tw\r\nBcc: all@example.org", ..composition(&[], "s", "b", Vec::new()) };
        assert!(matches!(compose(&bad, None, None), Err(ComposeError::Header { header: "To", .. })));
    }

    #[test]
    fn signed_messages_verify_with_gnupg_and_fail_when_altered() {
        let attachments = event_attachments(Format::TextCsv, &events(), "NTF-2026-000042", &reporter()).unwrap();
        let csv = attachments[0].data.clone();
        let body = "範例醫院 資安負責人您好：\n\nPlease see the attached events.\n";
        let c = composition(&[], "[NTF-2026-000042] 資安事件通知", body, attachments);
        let signers = [
            Signer::new(cert_key("Example CERT <cert@cert.example.tw>", None), "").unwrap(),
            // Signing with a subkey, as keys made by mail clients do.
            Signer::new(key_with_signing_subkey("Example CERT <cert@cert.example.tw>"), "").unwrap(),
        ];
        let gpg = GnuPg::new();
        for signer in &signers {
            let raw = compose(&c, Some(signer), None).unwrap();
            assert_crlf_7bit(&raw);
            let text = std::str::from_utf8(&raw).unwrap();
            assert!(text.contains("Content-Type: multipart/signed; micalg=pgp-sha256;\r\n protocol=\"application/pgp-signature\";"));

            let mail = crate::intake::parse(&raw).unwrap();
            assert!(mail.signed && !mail.encrypted);
            assert_eq!(mail.subject, "[NTF-2026-000042] 資安事件通知");
            assert!(mail.attachments.iter().any(|a| a.filename == "NTF-2026-000042.csv" && a.bytes == csv), "{:?}", mail.attachments);

            let (signed, signature_part) = split_multipart(&raw);
            assert!(signed.starts_with(b"Content-Type: multipart/mixed;\r\n boundary="));
            let signature = armored_block(std::str::from_utf8(&signature_part).unwrap(), "SIGNATURE").unwrap();

            // rpgp agrees that the signature covers exactly these bytes.
            let (detached, _) = DetachedSignature::from_string(signature).unwrap();
            let public = signer.public_key();
            let by = |data: &[u8]| {
                detached.verify(&public.primary_key, data).is_ok() || public.public_subkeys.iter().any(|s| detached.verify(s, data).is_ok())
            };
            assert!(by(&signed));
            let mut tampered = signed.clone();
            let middle = tampered.len() / 2;
            tampered[middle] ^= 0x01;
            assert!(!by(&tampered));

            if let Some(gpg) = &gpg {
                gpg.import(&public.to_armored_string(ArmorOptions::default()).unwrap());
                let good = gpg.verify(signature, &signed);
                assert!(good.status.success(), "gpg --verify failed: {}", String::from_utf8_lossy(&good.stderr));
                let bad = gpg.verify(signature, &tampered);
                assert!(!bad.status.success(), "gpg accepted an altered message: {}", String::from_utf8_lossy(&bad.stderr));
            }
        }
    }

    #[test]
    fn encrypted_messages_decrypt_with_gnupg_and_rampart() {
        let cert = Signer::new(cert_key("Example CERT <cert@cert.example.tw>", None), "").unwrap();
        let recipient = key_with_signing_subkey("SOC <soc@hospital.example.tw>");
        let armored_public = recipient.to_public_key().to_armored_string(ArmorOptions::default()).unwrap();
        let (public, info) = public_key_from_armored(&armored_public).unwrap();
        assert!(info.can_encrypt);
        assert_eq!(info.fingerprint, format!("{:X}", recipient.primary_key.fingerprint()));
        assert_eq!(info.fingerprint.len(), 40);
        assert_eq!(info.user_ids, ["SOC <soc@hospital.example.tw>"]);
        assert_eq!(info.expires_at, None);

        let attachments = event_attachments(Format::TextCsv, &events(), "NTF-2026-000042", &reporter()).unwrap();
        let body = "Dear SOC,\n\nplease check 192.0.2.10.\n";
        let c = composition(&[], "[NTF-2026-000042] Events", body, attachments);
        let raw = compose(&c, Some(&cert), Some(&public)).unwrap();
        assert_crlf_7bit(&raw);
        let mail = crate::intake::parse(&raw).unwrap();
        assert!(mail.encrypted);
        assert_eq!(mail.subject, "[NTF-2026-000042] Events");
        let (version, payload) = split_multipart(&raw);
        assert!(version.starts_with(b"Content-Type: application/pgp-encrypted\r\n"));
        assert!(version.ends_with(b"\r\n\r\nVersion: 1\r\n"));
        let armored = armored_block(std::str::from_utf8(&payload).unwrap(), "MESSAGE").unwrap();

        let ring = Keyring::new(Some((recipient.clone(), String::new())), vec![]);
        let (plain, _) = ring.decrypt(armored.as_bytes()).unwrap();
        assert!(plain.starts_with(b"Content-Type: multipart/signed; micalg=pgp-sha256;"));
        let (signed, signature_part) = split_multipart(&plain);
        let (text, files) = crate::intake::parse_entity(&signed);
        assert!(text.contains("please check 192.0.2.10."), "{text}");
        assert!(files.iter().any(|f| f.filename == "NTF-2026-000042.csv"));
        let signature = armored_block(std::str::from_utf8(&signature_part).unwrap(), "SIGNATURE").unwrap();

        // Not for someone else.
        let stranger = Keyring::new(Some((key_with_signing_subkey("X <x@example.org>"), String::new())), vec![]);
        assert!(stranger.decrypt(armored.as_bytes()).is_err());

        if let Some(gpg) = GnuPg::new() {
            gpg.import(&recipient.to_armored_string(ArmorOptions::default()).unwrap());
            gpg.import(&cert.public_key().to_armored_string(ArmorOptions::default()).unwrap());
            let encrypted = gpg.file("message.asc", armored.as_bytes());
            let out = gpg.run(&["--decrypt", &encrypted]);
            assert!(out.status.success(), "gpg --decrypt failed: {}", String::from_utf8_lossy(&out.stderr));
            assert_eq!(out.stdout, plain);
            assert!(String::from_utf8_lossy(&out.stdout).contains("please check 192.0.2.10."));
            let verified = gpg.verify(signature, &signed);
            assert!(verified.status.success(), "gpg --verify failed: {}", String::from_utf8_lossy(&verified.stderr));
        }
    }

    #[test]
    fn unusable_keys_are_refused_with_a_reason() {
        let garbage = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nbm90IGEga2V5\n-----END PGP PUBLIC KEY BLOCK-----\n";
        let err = public_key_from_armored(garbage).unwrap_err().to_string();
        assert!(err.contains("does not parse"), "{err}");

        let signing_only = signing_only_key("Sign <sign@example.org>").to_public_key();
        let err = public_key_from_armored(&signing_only.to_armored_string(ArmorOptions::default()).unwrap()).unwrap_err().to_string();
        assert!(err.contains("no valid key that may be used for encryption"), "{err}");

        let mut forged = cert_key("Alice <alice@example.org>", None).to_public_key();
        forged.details.users[0].id = UserId::from_str(PacketHeaderVersion::New, "Mallory <mallory@example.org>").unwrap();
        let err = public_key_from_armored(&forged.to_armored_string(ArmorOptions::default()).unwrap()).unwrap_err().to_string();
        assert!(err.contains("self-signatures do not verify"), "{err}");

        let locked = cert_key("Example CERT <cert@cert.example.tw>", Some("correct horse"));
        assert!(matches!(Signer::new(locked.clone(), "wrong"), Err(ComposeError::Unlock(_))));
        let armored = locked.to_armored_string(ArmorOptions::default()).unwrap();
        let signer = Signer::from_armored(&armored, "correct horse").unwrap();
        assert_eq!(signer.fingerprint(), format!("{:X}", locked.primary_key.fingerprint()));
        assert!(format!("{signer:?}").contains(&signer.fingerprint()));
        assert!(!format!("{signer:?}").contains("correct horse"));
        assert!(matches!(Signer::from_armored("nonsense", ""), Err(ComposeError::Key { .. })));
    }

    #[test]
    fn keys_made_by_gnupg_are_accepted_or_refused_for_the_right_reason() {
        let Some(gpg) = GnuPg::new() else { return };
        let fresh = gpg.generate("Fresh <fresh@example.org>", "future-default", "default", "never", None);
        let (key, info) = public_key_from_armored(&fresh).unwrap();
        assert!(info.can_encrypt && info.expires_at.is_none(), "{info:?}");
        assert_eq!(info.user_ids, ["Fresh <fresh@example.org>"]);
        let raw = compose(&composition(&[], "Test", "Hello from Rampart.\n", Vec::new()), None, Some(&key)).unwrap();
        let (_, payload) = split_multipart(&raw);
        let armored = armored_block(std::str::from_utf8(&payload).unwrap(), "MESSAGE").unwrap();
        let out = gpg.run(&["--decrypt", &gpg.file("fresh.asc", armored.as_bytes())]);
        assert!(out.status.success(), "gpg --decrypt failed: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("Hello from Rampart."));

        // Made in 2020 and valid for a year.
        let old = gpg.generate("Old <old@example.org>", "future-default", "default", "1y", Some("20200101T000000"));
        let err = public_key_from_armored(&old).unwrap_err().to_string();
        assert!(err.contains("expired on 202"), "{err}");

        let signing = gpg.generate("Signer <signer@example.org>", "ed25519", "sign", "never", None);
        let err = public_key_from_armored(&signing).unwrap_err().to_string();
        assert!(err.contains("no valid key that may be used for encryption"), "{err}");
    }
}
