//! Incoming mail, as an MTA pipes it to `rampart mailgate`. Parsing never panics and
//! never loses the message: what cannot be read is reported as such, and the caller
//! keeps the raw bytes.

use mail_parser::{MessageParser, MimeHeaders};
use rampart_core::incident::{references_in_subject, Reference};

/// What intake needs from a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingMail {
    pub from_address: Option<String>,
    pub from_name: Option<String>,
    pub subject: String,
    pub message_id: Option<String>,
    /// References tagged in the subject, like `[INC-2026-000123]`.
    pub references: Vec<Reference>,
    /// The text body (plain text, or text derived from HTML).
    pub text: String,
    pub attachments: Vec<MailAttachment>,
    /// `multipart/encrypted` (PGP/MIME) or an inline `-----BEGIN PGP MESSAGE-----`.
    pub encrypted: bool,
    /// `multipart/signed` or an inline signed message.
    pub signed: bool,
    /// Message-IDs this message answers or reports on: In-Reply-To and References,
    /// and for a delivery report, the Message-ID of the message it returns.
    pub refers_to: Vec<String>,
    /// A delivery status notification (`multipart/report; report-type=delivery-status`).
    pub is_bounce: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAttachment {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    Empty,
    /// Not recognisable as a message at all.
    NotAMessage,
}

/// Reads one message. Only a message with no headers at all is refused; everything
/// else yields what could be read.
pub fn parse(raw: &[u8]) -> Result<IncomingMail, ParseError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty);
    }
    let message = MessageParser::default().parse(raw).ok_or(ParseError::NotAMessage)?;
    // RFC 5322 requires From; accept any of the identifying headers, refuse a
    // message that has none of them.
    if message.from().is_none() && message.subject().is_none() && message.message_id().is_none() {
        return Err(ParseError::NotAMessage);
    }
    let from = message.from().and_then(|f| f.first());
    let subject = message.subject().unwrap_or("").chars().filter(|c| !c.is_control()).take(500).collect::<String>();
    let mut text = String::new();
    for i in 0..message.text_body_count() {
        if let Some(part) = message.body_text(i) {
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(&part);
        }
    }
    let mut attachments = Vec::new();
    for part in message.attachments() {
        let content_type = part.content_type().map(|ct| match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub),
            None => ct.ctype().to_string(),
        });
        attachments.push(MailAttachment {
            filename: part.attachment_name().unwrap_or("attachment.bin").to_string(),
            content_type: content_type.unwrap_or_else(|| "application/octet-stream".into()),
            bytes: part.contents().to_vec(),
        });
    }
    let top_type = message.content_type().map(|ct| (ct.ctype().to_ascii_lowercase(), ct.subtype().unwrap_or("").to_ascii_lowercase()));
    let encrypted =
        matches!(&top_type, Some((t, s)) if t == "multipart" && s == "encrypted") || text.contains("-----BEGIN PGP MESSAGE-----");
    let signed =
        matches!(&top_type, Some((t, s)) if t == "multipart" && s == "signed") || text.contains("-----BEGIN PGP SIGNED MESSAGE-----");
    let mut refers_to = Vec::new();
    for header in [message.in_reply_to(), message.references()] {
        for id in header.as_text_list().unwrap_or_default() {
            refers_to.push(format!("<{}>", id.trim_matches(|c| c == '<' || c == '>')));
        }
    }
    let is_bounce = matches!(&top_type, Some((t, s)) if t == "multipart" && s == "report")
        && message.content_type().and_then(|ct| ct.attribute("report-type")).is_some_and(|r| r.eq_ignore_ascii_case("delivery-status"));
    if is_bounce {
        refers_to.extend(returned_message_ids(raw));
    }
    Ok(IncomingMail {
        refers_to,
        is_bounce,
        from_address: from.and_then(|a| a.address()).map(|a| a.to_ascii_lowercase()),
        from_name: from.and_then(|a| a.name()).map(str::to_string),
        references: references_in_subject(&subject),
        subject,
        message_id: message.message_id().map(str::to_string),
        text,
        attachments,
        encrypted,
        signed,
    })
}

/// The `Message-ID:` header lines inside a delivery report's returned headers.
fn returned_message_ids(raw: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(raw);
    let mut ids = Vec::new();
    // Skip the report's own header block; the returned message's headers follow later.
    let body = text.split_once("\r\n\r\n").or_else(|| text.split_once("\n\n")).map(|(_, b)| b).unwrap_or("");
    for line in body.lines() {
        let Some((name, value)) = line.split_once(':') else { continue };
        if name.trim().eq_ignore_ascii_case("message-id") {
            let v = value.trim();
            if v.starts_with('<') && v.ends_with('>') && v.len() < 300 {
                ids.push(v.to_string());
            }
        }
    }
    ids
}

/// Reads a MIME entity that is not a whole message, such as the decrypted payload of
/// a PGP/MIME message: its text and attachments.
pub fn parse_entity(raw: &[u8]) -> (String, Vec<MailAttachment>) {
    let Some(message) = MessageParser::default().parse(raw) else {
        return (String::from_utf8_lossy(raw).into_owned(), Vec::new());
    };
    let mut text = String::new();
    for i in 0..message.text_body_count() {
        if let Some(part) = message.body_text(i) {
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(&part);
        }
    }
    let attachments = message
        .attachments()
        .map(|part| MailAttachment {
            filename: part.attachment_name().unwrap_or("attachment.bin").to_string(),
            content_type: part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_string(),
                })
                .unwrap_or_else(|| "application/octet-stream".into()),
            bytes: part.contents().to_vec(),
        })
        .collect();
    (text, attachments)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPLY: &str = "From: \"Chen Wei\" <Wei.Chen@Hospital.example.tw>\r\n\
To: cert@rampart.example.tw\r\n\
Subject: Re: [INC-2026-000123] Ransomware on radiology\r\n\
Message-ID: <abc@hospital.example.tw>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\
\r\n\
--b1\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 8bit\r\n\
\r\n\
We isolated 10.20.30.40. 已隔離主機。\r\n\
--b1\r\n\
Content-Type: text/csv; name=\"hosts.csv\"\r\n\
Content-Disposition: attachment; filename=\"hosts.csv\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
aXAKMTAuMjAuMzAuNDAK\r\n\
--b1--\r\n";

    #[test]
    fn a_reply_with_a_reference_and_an_attachment() {
        let mail = parse(REPLY.as_bytes()).unwrap();
        assert_eq!(mail.from_address.as_deref(), Some("wei.chen@hospital.example.tw"));
        assert_eq!(mail.from_name.as_deref(), Some("Chen Wei"));
        assert_eq!(mail.references.iter().map(ToString::to_string).collect::<Vec<_>>(), ["INC-2026-000123"]);
        assert!(mail.text.contains("10.20.30.40") && mail.text.contains("已隔離主機"), "{}", mail.text);
        assert_eq!(mail.attachments.len(), 1);
        assert_eq!(mail.attachments[0].filename, "hosts.csv");
        assert_eq!(mail.attachments[0].bytes, b"ip\n10.20.30.40\n");
        assert!(!mail.encrypted && !mail.signed);
    }

    #[test]
    fn pgp_is_recognised_and_garbage_is_refused() {
        let pgp = "From: a@b.tw\r\nSubject: x\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"z\"\r\n\r\n--z\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--z--\r\n";
        assert!(parse(pgp.as_bytes()).unwrap().encrypted);
        assert_eq!(parse(b"   \n"), Err(ParseError::Empty));
        assert!(parse(b"\x00\x01\x02 binary junk without headers").is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(raw in proptest::collection::vec(proptest::num::u8::ANY, 0..2000)) {
            let _ = parse(&raw);
        }
    }
}
