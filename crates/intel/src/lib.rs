//! Threat intelligence for Rampart's ISAC. So far: STIX 2.1 validation against the OASIS
//! schemas, TLP markings and object versions, TAXII 2.1's wire types, and warninglists in MISP's format, which
//! flag values that are known not to be indicators (private ranges, public resolvers,
//! empty-file hashes, URL shorteners, …) so they are neither matched nor told.

pub mod correlation;
pub mod matcher;
pub mod misp;
pub mod pattern;
pub mod stix;
pub mod taxii;
pub mod warninglist;
