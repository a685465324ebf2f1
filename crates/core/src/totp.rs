//! Time-based one-time passwords (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps),
//! as produced by every authenticator app.

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use sha1::Sha1;

pub const STEP_SECONDS: i64 = 30;
const DIGITS: u32 = 6;

/// A new 160-bit secret, base32 as authenticator apps expect.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    crate::credentials::fill_random(&mut bytes);
    BASE32_NOPAD.encode(&bytes)
}

fn decode_secret(secret: &str) -> Option<Vec<u8>> {
    let cleaned: String = secret.chars().filter(|c| !c.is_whitespace() && *c != '=').collect();
    BASE32_NOPAD.decode(cleaned.to_ascii_uppercase().as_bytes()).ok()
}

/// The code for a time step (RFC 4226 dynamic truncation).
pub fn code_at_step(secret: &[u8], step: i64) -> u32 {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let binary = u32::from_be_bytes([digest[offset] & 0x7f, digest[offset + 1], digest[offset + 2], digest[offset + 3]]);
    binary % 10u32.pow(DIGITS)
}

pub fn step_of(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// Checks `code` against the steps around `unix_seconds` (one step of clock drift each
/// way). Returns the matching step, which the caller records so a code is used once:
/// steps at or before `last_used_step` are refused.
pub fn verify(secret_b32: &str, code: &str, unix_seconds: i64, last_used_step: Option<i64>) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let wanted: u32 = code.parse().ok()?;
    let secret = decode_secret(secret_b32)?;
    let now = step_of(unix_seconds);
    (now - 1..=now + 1).filter(|step| last_used_step.is_none_or(|last| *step > last)).find(|step| code_at_step(&secret, *step) == wanted)
}

/// The `otpauth://` URI that authenticator apps read from a QR code.
pub fn otpauth_uri(issuer: &str, account: &str, secret_b32: &str) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period=30",
        enc(issuer),
        enc(account),
        secret_b32,
        enc(issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 column (8 digits there; the last 6 are ours).
    #[test]
    fn rfc6238_vectors() {
        let secret = b"12345678901234567890";
        for (time, expected8) in [
            (59i64, 94287082u32),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(code_at_step(secret, step_of(time)), expected8 % 1_000_000, "t={time}");
        }
    }

    #[test]
    fn verify_window_and_replay() {
        let secret = new_secret();
        let raw = decode_secret(&secret).unwrap();
        let now = 1_700_000_000;
        let code = format!("{:06}", code_at_step(&raw, step_of(now)));
        let step = verify(&secret, &code, now, None).expect("current code verifies");
        assert_eq!(verify(&secret, &code, now, Some(step)), None, "a code is used only once");
        assert!(verify(&secret, &code, now + 30, None).is_some(), "one step of drift");
        assert_eq!(verify(&secret, &code, now + 90, None), None, "too old");
        assert_eq!(verify(&secret, "12345", now, None), None);
        assert_eq!(verify(&secret, "abcdef", now, None), None);
        assert_eq!(verify("!!", "123456", now, None), None);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_codes_and_secrets_never_panic(secret in "\\PC{0,64}", code in "\\PC{0,12}", t in 0i64..4_000_000_000) {
            let _ = verify(&secret, &code, t, None);
        }
    }

    #[test]
    fn uri_is_escaped() {
        let uri = otpauth_uri("Rampart CERT", "a@b.tw", "ABC");
        assert_eq!(uri, "otpauth://totp/Rampart%20CERT:a%40b.tw?secret=ABC&issuer=Rampart%20CERT&algorithm=SHA1&digits=6&period=30");
    }
}
