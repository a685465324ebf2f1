//! Threat intelligence for Rampart's ISAC. For now: warninglists in MISP's format, which
//! flag values that are known not to be indicators (private ranges, public resolvers,
//! empty-file hashes, URL shorteners, …) so they are neither matched nor told.

pub mod warninglist;
