//! OpenPGP for mail intake: messages encrypted to the CERT are decrypted with its key,
//! and signatures are checked against the keys of known contacts. The result is
//! recorded with the message; a message that cannot be decrypted is kept as it came.

use pgp::composed::{CleartextSignedMessage, Deserializable, Message, SignedPublicKey, SignedPublicSubKey, SignedSecretKey};
use pgp::types::{KeyDetails, Password};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum PgpError {
    #[error("reading {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{what} is not a usable OpenPGP key: {reason}")]
    Key { what: String, reason: String },
    #[error("no CERT key is configured (pgp.secret_key_file)")]
    NoSecretKey,
    #[error("the message could not be decrypted: {0}")]
    Decrypt(String),
}

/// What a signature check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureCheck {
    Unsigned,
    /// Made by a known contact's key (its fingerprint).
    Good {
        fingerprint: String,
    },
    /// Signed, but by no key Rampart knows, or the signature does not match.
    NotVerified,
}

impl std::fmt::Display for SignatureCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignatureCheck::Unsigned => f.write_str("not signed"),
            SignatureCheck::Good { fingerprint } => write!(f, "good signature by key {fingerprint}"),
            SignatureCheck::NotVerified => f.write_str("signed, but not by a known contact's key (or altered)"),
        }
    }
}

/// The CERT's secret key and the contacts' public keys.
pub struct Keyring {
    secret: Option<(SignedSecretKey, String)>,
    contacts: Vec<SignedPublicKey>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring").field("has_secret_key", &self.secret.is_some()).field("contacts", &self.contacts.len()).finish()
    }
}

fn read(path: &Path) -> Result<Vec<u8>, PgpError> {
    std::fs::read(path).map_err(|source| PgpError::Read { path: path.display().to_string(), source })
}

impl Keyring {
    pub fn new(secret: Option<(SignedSecretKey, String)>, contacts: Vec<SignedPublicKey>) -> Self {
        Self { secret, contacts }
    }

    /// Loads the CERT key (armored or binary) and every `*.asc`/`*.gpg`/`*.pgp` public key
    /// in `contacts_dir`. The passphrase comes from the environment, never from a file.
    pub fn load(secret_key_file: Option<&Path>, passphrase: &str, contacts_dir: Option<&Path>) -> Result<Self, PgpError> {
        let secret = match secret_key_file {
            Some(path) => {
                let bytes = read(path)?;
                let (key, _) = SignedSecretKey::from_reader_single(&bytes[..])
                    .map_err(|e| PgpError::Key { what: path.display().to_string(), reason: e.to_string() })?;
                key.verify_bindings().map_err(|e| PgpError::Key { what: path.display().to_string(), reason: e.to_string() })?;
                Some((key, passphrase.to_string()))
            }
            None => None,
        };
        let mut contacts = Vec::new();
        if let Some(dir) = contacts_dir {
            let entries = std::fs::read_dir(dir).map_err(|source| PgpError::Read { path: dir.display().to_string(), source })?;
            for entry in entries.flatten() {
                let path = entry.path();
                let wanted = path.extension().and_then(|e| e.to_str()).is_some_and(|e| matches!(e, "asc" | "gpg" | "pgp"));
                if !wanted {
                    continue;
                }
                let bytes = read(&path)?;
                let (key, _) = SignedPublicKey::from_reader_single(&bytes[..])
                    .map_err(|e| PgpError::Key { what: path.display().to_string(), reason: e.to_string() })?;
                contacts.push(key);
            }
        }
        Ok(Self { secret, contacts })
    }

    /// Adds contacts' public keys kept in the registry; a key that does not parse is
    /// skipped (it was checked when it was stored).
    pub fn add_contact_keys(&mut self, armored: &[String]) {
        for text in armored {
            if let Ok((key, _)) = SignedPublicKey::from_string(text) {
                self.contacts.push(key);
            }
        }
    }

    pub fn can_decrypt(&self) -> bool {
        self.secret.is_some()
    }

    /// Decrypts an OpenPGP message (armored or binary) and checks its signature.
    pub fn decrypt(&self, data: &[u8]) -> Result<(Vec<u8>, SignatureCheck), PgpError> {
        let (key, passphrase) = self.secret.as_ref().ok_or(PgpError::NoSecretKey)?;
        let err = |e: pgp::errors::Error| PgpError::Decrypt(e.to_string());
        let text = std::str::from_utf8(data).ok().filter(|t| t.contains("-----BEGIN PGP MESSAGE-----"));
        let message = match text {
            Some(armored) => Message::from_string(armored.trim()).map_err(err)?.0,
            None => Message::from_bytes(data).map_err(err)?,
        };
        let mut message = message.decrypt(&Password::from(passphrase.as_str()), key).map_err(err)?;
        if message.is_compressed() {
            message = message.decompress().map_err(err)?;
        }
        let plaintext = message.as_data_vec().map_err(|e| PgpError::Decrypt(e.to_string()))?;
        let check = if message.is_signed() || message.is_one_pass_signed() {
            self.known_signer(|key| message.verify(key).is_ok(), |sub| message.verify(sub).is_ok())
        } else {
            SignatureCheck::Unsigned
        };
        Ok((plaintext, check))
    }

    /// Checks an inline (cleartext) signed message; returns the signed text.
    pub fn verify_cleartext(&self, armored: &str) -> Option<(String, SignatureCheck)> {
        let (message, _) = CleartextSignedMessage::from_string(armored.trim()).ok()?;
        let check = self.known_signer(|key| message.verify(key).is_ok(), |sub| message.verify(sub).is_ok());
        Some((message.signed_text(), check))
    }

    /// The first contact whose primary key or a subkey made the signature.
    fn known_signer(
        &self,
        by_primary: impl Fn(&SignedPublicKey) -> bool,
        by_subkey: impl Fn(&SignedPublicSubKey) -> bool,
    ) -> SignatureCheck {
        for contact in &self.contacts {
            let by_primary = by_primary(contact);
            let by_subkey = contact.public_subkeys.iter().any(&by_subkey);
            if by_primary || by_subkey {
                return SignatureCheck::Good { fingerprint: format!("{:X}", contact.fingerprint()) };
            }
        }
        SignatureCheck::NotVerified
    }
}

/// The first armored block of the given kind in a text, with its markers.
pub fn armored_block<'a>(text: &'a str, kind: &str) -> Option<&'a str> {
    let begin = format!("-----BEGIN PGP {kind}-----");
    let end = match kind {
        "SIGNED MESSAGE" => "-----END PGP SIGNATURE-----".to_string(),
        other => format!("-----END PGP {other}-----"),
    };
    let start = text.find(&begin)?;
    let stop = start + text[start..].find(&end)? + end.len();
    Some(&text[start..stop])
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use pgp::composed::{EncryptionCaps, KeyType, MessageBuilder, SecretKeyParamsBuilder, SubkeyParamsBuilder};
    use pgp::crypto::ecc_curve::ECCCurve;
    use pgp::crypto::hash::HashAlgorithm;
    use pgp::crypto::sym::SymmetricKeyAlgorithm;

    /// A key with a signing and an encryption subkey, as mail clients make them.
    pub fn key(uid: &str) -> SignedSecretKey {
        let mut sign = SubkeyParamsBuilder::default();
        sign.key_type(KeyType::Ed25519Legacy).can_sign(true).can_encrypt(EncryptionCaps::None).can_authenticate(false);
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
            .can_sign(false)
            .can_encrypt(EncryptionCaps::None)
            .primary_user_id(uid.into())
            .subkeys(vec![sign.build().unwrap(), encrypt.build().unwrap()]);
        params.build().unwrap().generate(rand08::thread_rng()).unwrap()
    }

    /// An armored message to `to`, signed by `from` when given.
    pub fn encrypt(to: &SignedSecretKey, from: Option<&SignedSecretKey>, text: &[u8]) -> String {
        let public = SignedPublicKey::from(to.clone());
        let mut builder = MessageBuilder::from_bytes("", text.to_vec()).seipd_v1(rand08::thread_rng(), SymmetricKeyAlgorithm::AES256);
        builder.encrypt_to_key(rand08::thread_rng(), &public.public_subkeys[1]).unwrap();
        if let Some(signer) = from {
            builder.sign(&signer.secret_subkeys[0].key, Password::empty(), HashAlgorithm::Sha256);
        }
        builder.to_armored_string(rand08::thread_rng(), Default::default()).unwrap()
    }

    #[test]
    fn decrypts_and_checks_the_signer() {
        let cert = key("CERT <cert@cert.example.tw>");
        let contact = key("SOC <soc@bank.example.tw>");
        let stranger = key("Someone <x@example.net>");
        let ring = Keyring::new(Some((cert.clone(), String::new())), vec![SignedPublicKey::from(contact.clone())]);

        let (text, check) = ring.decrypt(encrypt(&cert, Some(&contact), b"card numbers leaked").as_bytes()).unwrap();
        assert_eq!(text, b"card numbers leaked");
        assert!(matches!(check, SignatureCheck::Good { ref fingerprint } if !fingerprint.is_empty()), "{check:?}");

        let (_, check) = ring.decrypt(encrypt(&cert, Some(&stranger), b"hi").as_bytes()).unwrap();
        assert_eq!(check, SignatureCheck::NotVerified);
        let (_, check) = ring.decrypt(encrypt(&cert, None, b"hi").as_bytes()).unwrap();
        assert_eq!(check, SignatureCheck::Unsigned);

        // Not for the CERT: refused with a reason, not a panic.
        assert!(matches!(ring.decrypt(encrypt(&stranger, None, b"hi").as_bytes()), Err(PgpError::Decrypt(_))));
        assert!(ring.decrypt(b"-----BEGIN PGP MESSAGE-----\n\ngarbage\n-----END PGP MESSAGE-----").is_err());
        let no_key = Keyring::new(None, vec![]);
        assert!(matches!(no_key.decrypt(b"x"), Err(PgpError::NoSecretKey)));
    }

    #[test]
    fn finds_armored_blocks() {
        let text = "Hello\n-----BEGIN PGP MESSAGE-----\nabc\n-----END PGP MESSAGE-----\nbye";
        assert_eq!(armored_block(text, "MESSAGE"), Some("-----BEGIN PGP MESSAGE-----\nabc\n-----END PGP MESSAGE-----"));
        assert_eq!(armored_block("nothing", "MESSAGE"), None);
    }
}
