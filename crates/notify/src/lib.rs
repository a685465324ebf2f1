//! Rampart's mail handling: reading an incoming RFC 5322 message into what intake needs
//! (sender, subject, references in the subject, text, attachments), and building
//! outgoing notifications (templates, CSV or X-ARF attachments, PGP/MIME).

pub mod compose;
pub mod intake;
pub mod openpgp;
pub mod smtp;
pub mod template;
pub mod xarf;
