//! Rampart's mail handling. For now: reading an incoming RFC 5322 message into what
//! intake needs (sender, subject, references in the subject, text, attachments).

pub mod intake;
pub mod openpgp;
pub mod smtp;
