//! What one mapping step does to an event, worked out or remembered.

use super::convert::{self, ConvertError, Converted, FieldType, Stamp};
use crate::direct::RowSink;
use crate::event::{FieldId, Kind, Rendered};
use crate::memo::{Lookup, Outcome, RowMemo};
use std::borrow::Cow;
use std::net::Ipv4Addr;

/// Where a mapped value goes, resolved.
#[derive(Debug, Clone, Copy)]
pub(super) enum Slot {
    /// A harmonised field, sanitised by its type.
    Field(FieldId, FieldType),
    /// An `extra.*` field, stored as converted.
    Extra(FieldId),
    Ignore,
}

/// What a step made of a value, before it is set.
pub(super) enum Made<'a> {
    /// The converter made nothing of it (IntelMQ's `None`).
    Nothing,
    /// Taken, with nothing to set.
    Taken,
    Set(FieldId, Kind, Cow<'a, str>),
    /// Taken, and this field set to a value that is valid JSON for its kind as it is (an
    /// address, a network, a number a converter or type made): written without escaping or
    /// checking.
    SetPlain(FieldId, Kind, Cow<'a, str>),
    /// A time stamp for a `DateTime` field, made without a heap string.
    SetStamp(FieldId, Stamp),
    /// [`Made::SetPlain`] for an IPv4 address already read, so that routing need not read it
    /// again.
    SetAddress(FieldId, Kind, Cow<'a, str>, Ipv4Addr),
    /// The field's type refused the converted value.
    Refused,
}

/// What became of a step's column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Done {
    Nothing,
    Taken,
    Refused,
}

impl<'a> Made<'a> {
    /// A converted value for `slot`: a harmonised field sanitised by its type, an `extra.*`
    /// field as converted (an empty text dropped).
    #[inline(always)]
    pub(super) fn for_slot(slot: Slot, converted: Converted<'a>) -> Made<'a> {
        match slot {
            Slot::Ignore => Made::Taken,
            Slot::Extra(_) if matches!(&converted, Converted::Text(t) if t.is_empty()) => Made::Taken,
            Slot::Extra(id) => {
                let plain = matches!(converted, Converted::Integer(_) | Converted::Float(_));
                let (kind, text) = converted.into_extra();
                if plain {
                    Made::SetPlain(id, kind, text)
                } else {
                    Made::Set(id, kind, text)
                }
            }
            Slot::Field(_, _) if converted.is_ignored() => Made::Taken,
            Slot::Field(id, FieldType::DateTime) if let Some(stamp) = convert::plain_date_time(&converted) => Made::SetStamp(id, stamp),
            Slot::Field(id, FieldType::Ip) if let Converted::Ipv4(_, address) = converted => {
                match convert::harmonise(FieldType::Ip, converted) {
                    Some((kind, text)) => Made::SetAddress(id, kind, text, address),
                    None => Made::Refused,
                }
            }
            Slot::Field(id, ty) => match convert::harmonise(ty, converted) {
                Some((kind, text)) if ty.writes_plain() => Made::SetPlain(id, kind, text),
                Some((kind, text)) => Made::Set(id, kind, text),
                None => Made::Refused,
            },
        }
    }

    // Always inlined: a call here, with the value handed over in memory, cost more than
    // setting most values.
    #[inline(always)]
    fn set_on(self, event: &mut impl RowSink<'a>) -> Done {
        match self {
            Made::Nothing => Done::Nothing,
            Made::Taken => Done::Taken,
            Made::Set(id, kind, text) => {
                event.set_kind(id, kind, text);
                Done::Taken
            }
            Made::SetPlain(id, kind, text) => {
                event.set_plain(id, kind, text);
                Done::Taken
            }
            Made::SetStamp(id, stamp) => {
                event.set_stamp(id, &stamp);
                Done::Taken
            }
            Made::SetAddress(id, kind, text, address) => {
                event.set_address(id, kind, text, address);
                Done::Taken
            }
            Made::Refused => Done::Refused,
        }
    }

    fn outcome(&self) -> Outcome {
        match self {
            Made::Nothing => Outcome::Nothing,
            Made::Taken => Outcome::Taken,
            Made::Set(id, kind, text) | Made::SetPlain(id, kind, text) | Made::SetAddress(id, kind, text, _) => {
                Outcome::Set(Rendered::new(*id, *kind, text))
            }
            Made::SetStamp(id, stamp) => Outcome::Set(Rendered::new(*id, Kind::Text, stamp.as_str())),
            Made::Refused => Outcome::Refused,
        }
    }
}

#[inline]
fn set_remembered<'a>(outcome: &'a Outcome, event: &mut impl RowSink<'a>) -> Done {
    match outcome {
        Outcome::Nothing => Done::Nothing,
        Outcome::Taken => Done::Taken,
        Outcome::Set(rendered) => {
            event.set_rendered(rendered);
            Done::Taken
        }
        Outcome::Refused => Done::Refused,
    }
}

/// Sets what `make` makes of `value` on `event` (an event, or a row written directly), or
/// what it made of the same value at step `index` of an earlier row when `memo` has it.
#[inline]
pub(super) fn run_step<'a>(
    memo: Option<&mut RowMemo<'a>>,
    index: usize,
    value: &str,
    event: &mut impl RowSink<'a>,
    make: impl FnOnce() -> Result<Made<'a>, ConvertError>,
) -> Result<Done, ConvertError> {
    let memo = match memo.map(|memo| (memo.lookup(index, value), memo)) {
        Some((Lookup::Found(outcome), _)) => return Ok(set_remembered(outcome, event)),
        Some((Lookup::Unknown, memo)) => Some(memo),
        Some((Lookup::Off, _)) | None => None,
    };
    // One call of `make`, so that it is inlined here.
    let made = make()?;
    if let Some(outcome) = memo.and_then(|memo| memo.remember(index, value, made.outcome())) {
        return Ok(set_remembered(outcome, event));
    }
    Ok(made.set_on(event))
}
