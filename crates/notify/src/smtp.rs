//! Outgoing mail over SMTP to the configured relay. Every message carries a
//! Message-ID of Rampart's own and the record's reference in its subject, so replies
//! come back through the mailgate onto the same record.

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// The right-hand side of Message-IDs.
    domain: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("invalid address {0:?}")]
    Address(String),
    #[error("the message could not be built: {0}")]
    Build(String),
    #[error("the SMTP relay refused or could not be reached: {0}")]
    Relay(String),
}

/// A message to send.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// Message-ID of the message this answers, if any.
    pub in_reply_to: Option<String>,
}

impl Mailer {
    /// `relay` is `host:port` (port 25 when omitted); `from` an address.
    pub fn new(relay: &str, from: &str) -> Result<Self, MailError> {
        let (host, port) = match relay.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse().map_err(|_| MailError::Address(relay.to_string()))?),
            None => (relay.to_string(), 25),
        };
        let from: Mailbox = from.parse().map_err(|_| MailError::Address(from.to_string()))?;
        let domain = from.email.domain().to_string();
        // Plain SMTP to a relay the operator runs; it handles TLS onwards.
        let transport =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).port(port).timeout(Some(Duration::from_secs(15))).build();
        Ok(Self { transport, from, domain })
    }

    pub fn new_message_id(&self) -> String {
        format!("<{}@{}>", uuid::Uuid::now_v7(), self.domain)
    }

    /// Sends one plain-text message; returns its Message-ID.
    pub async fn send(&self, mail: &Outgoing) -> Result<String, MailError> {
        let to: Mailbox = mail.to.parse().map_err(|_| MailError::Address(mail.to.clone()))?;
        let message_id = self.new_message_id();
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.chars().filter(|c| !c.is_control()).collect::<String>())
            .message_id(Some(message_id.clone()))
            .header(ContentType::TEXT_PLAIN);
        if let Some(parent) = &mail.in_reply_to {
            builder = builder.in_reply_to(parent.clone()).references(parent.clone());
        }
        let message = builder.body(mail.body.clone()).map_err(|e| MailError::Build(e.to_string()))?;
        self.transport.send(message).await.map_err(|e| MailError::Relay(e.to_string()))?;
        Ok(message_id)
    }
}

/// Why a raw message was not handed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFailure {
    /// The relay refused for good (5xx): retrying will not help.
    pub permanent: bool,
    pub reason: String,
}

impl Mailer {
    /// The sender address, for `From:` headers composed elsewhere.
    pub fn from_address(&self) -> String {
        self.from.to_string()
    }

    /// The right-hand side of Rampart's Message-IDs.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Hands a complete message (already signed or encrypted) to the relay unchanged.
    pub async fn send_raw(&self, recipients: &[String], raw: &[u8]) -> Result<String, SendFailure> {
        let mut to = Vec::with_capacity(recipients.len());
        for r in recipients {
            let address: lettre::Address =
                r.parse().map_err(|_| SendFailure { permanent: true, reason: format!("invalid address {r:?}") })?;
            to.push(address);
        }
        let envelope = lettre::address::Envelope::new(Some(self.from.email.clone()), to)
            .map_err(|e| SendFailure { permanent: true, reason: e.to_string() })?;
        match self.transport.send_raw(&envelope, raw).await {
            Ok(response) => Ok(response.message().collect::<Vec<_>>().join(" ")),
            Err(e) => Err(SendFailure { permanent: e.is_permanent(), reason: e.to_string() }),
        }
    }
}

/// The subject of a message about a record: the reference tag first, once.
pub fn tagged_subject(reference: &str, subject: &str) -> String {
    let tag = format!("[{reference}]");
    if subject.contains(&tag) {
        subject.to_string()
    } else {
        format!("{tag} {subject}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_carry_the_reference_once() {
        assert_eq!(tagged_subject("INC-2026-000001", "Your report"), "[INC-2026-000001] Your report");
        assert_eq!(tagged_subject("INC-2026-000001", "Re: [INC-2026-000001] x"), "Re: [INC-2026-000001] x");
    }

    #[test]
    fn bad_configuration_is_named() {
        assert!(Mailer::new("relay:notaport", "cert@x.tw").is_err());
        assert!(Mailer::new("relay:25", "not an address").is_err());
        let m = Mailer::new("127.0.0.1:2525", "CERT <cert@cert.example.tw>").unwrap();
        assert!(m.new_message_id().ends_with("@cert.example.tw>"));
    }
}
