//! Rampart's domain: what things are and the rules that hold for them.
//! Nothing here performs I/O, so every rule can be tested in isolation.

pub mod account;
pub mod audit;
pub mod constituency;
pub mod credentials;
pub mod deadlines;
pub mod ids;
pub mod incident;
pub mod notification;
pub mod observables;
pub mod org;
pub mod policy;
pub mod records;
pub mod registry;
pub mod rsit;
pub mod sectors;
#[doc(hidden)]
pub mod testdata;
pub mod tlp;
pub mod totp;
pub mod work;

/// A value that did not parse into a domain type; the message names what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what}: {value:?} (expected one of: {expected})")]
pub struct ParseEnumError {
    pub what: &'static str,
    pub value: String,
    pub expected: &'static str,
}

/// Declares a string-backed enum with stable wire names, `as_str`, `FromStr`, `ALL` and serde.
#[macro_export]
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::ParseEnumError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    _ => Err($crate::ParseEnumError {
                        what: $what,
                        value: s.chars().take(64).collect(),
                        expected: concat!($($wire, " "),+),
                    }),
                }
            }
        }
    };
}
