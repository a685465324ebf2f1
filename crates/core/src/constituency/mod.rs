//! The constituency: which organisation answers for an address, network, AS number or
//! domain. Parsing and normalisation (`prefix`), the fast lookup structures (`lpm`,
//! `domains`), the routing rules (`resolve`) and the import parsers, all without I/O.

pub mod domains;
pub mod import;
pub mod import_csv;
pub mod import_routing;
pub mod import_rpsl;
pub mod lpm;
pub mod prefix;
pub mod resolve;

pub use domains::DomainIndex;
pub use lpm::{NaiveSortedPrefixes, PrefixMap};
pub use prefix::{is_reserved_ip, normalise_domain, parse_asn, range_to_prefixes, reserved_range, IpPrefix, PrefixError};
pub use resolve::{
    assets_overlapping, AssetKind, AssetRecord, AssetSource, ConstituencyIndex, MatchVia, QueryKind, RouteAnswer, RouteMatch, RoutingRow,
};
