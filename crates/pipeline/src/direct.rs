//! A row written straight to its IntelMQ JSON line, without an [`Event`] in between.
//!
//! When nothing after parsing reads or changes an event but routing (no rules, no
//! warninglists), a parser may write each field's JSON member the moment it has the value,
//! adding up the fingerprint on the way ([`DirectRow`]); only what routing and counting read
//! is kept aside: the address, the feed's AS number, the type, and which of the fields
//! routing fills in the row already has. The line and the fingerprint are the ones the event
//! would have given as long as no field is set twice in a row: setting in order is then
//! writing in order, and no later set replaces an earlier one. A row that sets a field again
//! (a mapping that sends two columns to one field, say) is marked, and the engine takes it
//! again through an event.

use crate::event::{fields, write_member, Event, FieldId, FieldTable, Kind, Rendered};
use crate::experts::{
    field_term, field_term_of_bytes, fingerprint_of, route_facts, route_facts_of, taxonomy_of, DedupeKeys, Routed, EXTRA_TIE,
};
use crate::shadowserver::Stamp;
use rampart_core::constituency::resolve::ConstituencyIndex;
use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr};

/// Where a parser puts a row's fields: an [`Event`], or a [`DirectRow`].
pub trait RowSink<'a> {
    /// Sets a value made ahead of time.
    fn set_rendered(&mut self, rendered: &'a Rendered);

    /// Sets values made ahead of time, in order (a report's constants, the same on every row).
    fn set_all_rendered(&mut self, rendered: &'a [Rendered]) {
        for one in rendered {
            self.set_rendered(one);
        }
    }

    fn set_kind(&mut self, field: FieldId, kind: Kind, text: Cow<'a, str>);

    /// Sets a value that is valid JSON for its kind as it is (a row written directly copies
    /// it without escaping or checking it).
    fn set_plain(&mut self, field: FieldId, kind: Kind, text: Cow<'a, str>) {
        self.set_kind(field, kind, text);
    }

    /// Sets a time stamp (a row written directly copies it and needs no heap string for it).
    fn set_stamp(&mut self, field: FieldId, stamp: &Stamp) {
        self.set_kind(field, Kind::Text, Cow::Owned(stamp.as_str().to_string()));
    }

    /// [`RowSink::set_plain`] for the text of an IPv4 address already read (a row written
    /// directly routes by the address and does not read the text again).
    fn set_address(&mut self, field: FieldId, kind: Kind, text: Cow<'a, str>, address: Ipv4Addr) {
        let _ = address;
        self.set_plain(field, kind, text);
    }
}

impl<'a> RowSink<'a> for Event<'a> {
    #[inline]
    fn set_rendered(&mut self, rendered: &'a Rendered) {
        Event::set_rendered(self, rendered);
    }

    #[inline]
    fn set_kind(&mut self, field: FieldId, kind: Kind, text: Cow<'a, str>) {
        Event::set_kind(self, field, kind, text);
    }
}

/// What the engine does with a field's value after parsing: replace it (`feed.name`), or
/// read it (for routing and counting).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Role {
    #[default]
    None,
    FeedName,
    Ip,
    Asn,
    Type,
}

/// What a row writer knows of one field.
#[derive(Debug, Clone, Copy, Default)]
struct FieldState {
    /// The number of the last row that set it.
    row: u32,
    /// It counts for the fingerprint.
    chosen: bool,
    role: Role,
}

/// The fields the engine reads or adds after parsing, resolved once.
#[derive(Clone, Copy)]
struct Watched {
    feed_name: FieldId,
    taxonomy: FieldId,
    asn: FieldId,
    network: FieldId,
    country: FieldId,
    organisation: FieldId,
    tie: FieldId,
    roles: [(FieldId, Role); 4],
}

impl Watched {
    fn new() -> Watched {
        let (feed_name, asn) = (*fields::FEED_NAME, *fields::SOURCE_ASN);
        Watched {
            feed_name,
            taxonomy: *fields::CLASSIFICATION_TAXONOMY,
            asn,
            network: *fields::SOURCE_NETWORK,
            country: *fields::SOURCE_GEOLOCATION_CC,
            organisation: *fields::EXTRA_ORGANISATION,
            tie: *EXTRA_TIE,
            roles: [
                (feed_name, Role::FeedName),
                (*fields::SOURCE_IP, Role::Ip),
                (asn, Role::Asn),
                (*fields::CLASSIFICATION_TYPE, Role::Type),
            ],
        }
    }
}

/// Values made ahead of time that every row sets together, joined once: their members as
/// one piece of JSON, their fingerprint terms as one sum. Copying the piece costs a row
/// less than setting the values one by one.
struct Joined<'a> {
    /// The values joined (the same slice, at the same address, on every row).
    source: &'a [Rendered],
    /// Whether they could be joined: none of them is a field the engine replaces or routes by.
    usable: bool,
    json: Vec<u8>,
    sum: u64,
    count: u64,
    fields: Vec<FieldId>,
    /// The `classification.type` among them, which counting reads.
    classification_type: Option<&'a str>,
}

/// One row after another, written into one buffer of IntelMQ JSON lines.
pub struct DirectRow<'a, 't> {
    /// A copy of the field table: the parser may take this thread's (for a value it
    /// remembers) while a row is written.
    table: FieldTable,
    /// By [`FieldId::index`], for every field of `table`.
    states: Vec<FieldState>,
    keys: &'t DedupeKeys,
    watched: Watched,
    out: Vec<u8>,
    /// Where the row being written starts in `out`.
    start: usize,
    /// Counts the rows, from 1: a field's `row` tells whether this row set it already.
    row: u32,
    /// The run's `feed.name`, which replaces the feed's own.
    feed_name: Option<&'a Rendered>,
    sum: u64,
    count: u64,
    source_ip: Option<Cow<'a, str>>,
    /// `source_ip` as read, when the parser had read it.
    source_address: Option<Ipv4Addr>,
    source_asn: Option<Cow<'a, str>>,
    classification_type: Option<Cow<'a, str>>,
    /// The row set a field twice.
    conflict: bool,
    joined: Option<Joined<'a>>,
}

impl<'a, 't> DirectRow<'a, 't> {
    /// Rows are appended to `out`.
    pub(crate) fn new(keys: &'t DedupeKeys, out: Vec<u8>, feed_name: Option<&'a Rendered>) -> Self {
        let mut row = DirectRow {
            // Interned before the table is copied.
            watched: Watched::new(),
            table: FieldTable::snapshot(),
            states: Vec::new(),
            keys,
            start: out.len(),
            out,
            row: 0,
            feed_name,
            sum: 0,
            count: 0,
            source_ip: None,
            source_address: None,
            source_asn: None,
            classification_type: None,
            conflict: false,
            joined: None,
        };
        row.know_table();
        row
    }

    /// Fills in the state of every field of the table not known yet.
    #[cold]
    fn know_table(&mut self) {
        for field in self.table.ids().skip(self.states.len()) {
            let role = self.watched.roles.iter().find(|(id, _)| *id == field).map_or(Role::None, |(_, role)| *role);
            self.states.push(FieldState { row: 0, chosen: self.keys.chooses(field), role });
        }
    }

    /// Starts a row.
    pub(crate) fn begin(&mut self) {
        self.start = self.out.len();
        self.out.extend_from_slice(b"{\"__type\":\"Event\"");
        self.row += 1;
        self.sum = 0;
        self.count = 0;
        self.source_ip = None;
        self.source_address = None;
        self.source_asn = None;
        self.classification_type = None;
        self.conflict = false;
    }

    /// Whether the row set a field twice: then it must be made as an event instead (after
    /// [`DirectRow::abandon`]).
    pub(crate) fn conflicted(&self) -> bool {
        self.conflict
    }

    /// The buffer rows are written into, to add a line made otherwise between two rows.
    pub(crate) fn lines_mut(&mut self) -> &mut Vec<u8> {
        &mut self.out
    }

    /// Notes that the row sets `field`: whether it counts for the fingerprint, and its role.
    // Always inlined: it runs for every value set, and as a call it cost more than itself.
    #[inline(always)]
    fn mark(&mut self, field: FieldId) -> (bool, Role) {
        if field.index() >= self.states.len() {
            self.table = FieldTable::snapshot();
            self.know_table();
        }
        let state = &mut self.states[field.index()];
        self.conflict |= state.row == self.row;
        state.row = self.row;
        (state.chosen, state.role)
    }

    /// Joins `source` ([`Joined`]), refreshing the field states first so that every one
    /// of its fields has one.
    #[cold]
    fn join(&mut self, source: &'a [Rendered]) -> Joined<'a> {
        if source.iter().any(|one| one.field().index() >= self.states.len()) {
            self.table = FieldTable::snapshot();
            self.know_table();
        }
        let mut joined = Joined { source, usable: true, json: Vec::new(), sum: 0, count: 0, fields: Vec::new(), classification_type: None };
        for one in source {
            let state = self.states[one.field().index()];
            match state.role {
                Role::None => {}
                Role::Type => joined.classification_type = Some(one.text()),
                Role::FeedName | Role::Ip | Role::Asn => joined.usable = false,
            }
            one.write_json(&mut joined.json);
            if state.chosen {
                joined.sum = joined.sum.wrapping_add(one.hash_term());
                joined.count += 1;
            }
            joined.fields.push(one.field());
        }
        joined
    }

    /// Whether the row being written has set `field`.
    fn has(&self, field: FieldId) -> bool {
        self.states.get(field.index()).is_some_and(|state| state.row == self.row)
    }

    /// Takes back what was written of the row.
    pub(crate) fn abandon(&mut self) {
        self.out.truncate(self.start);
    }

    /// Adds what the engine adds after parsing, in the order it adds it to an event
    /// (`feed.name` if the row had none, `time.observation`, `classification.taxonomy`, then
    /// routing), closes the line and gives the routing outcome and the fingerprint.
    pub(crate) fn finish(&mut self, observation_time: &'a Rendered, index: &ConstituencyIndex) -> (Routed, u64) {
        if let (Some(name), false) = (self.feed_name, self.has(self.watched.feed_name)) {
            self.set_rendered(name);
        }
        self.set_rendered(observation_time);
        if !self.has(self.watched.taxonomy) {
            if let Some(taxonomy) = self.classification_type.as_deref().and_then(taxonomy_of) {
                self.write(self.watched.taxonomy, Kind::Text, taxonomy);
            }
        }
        let feed_asn = self.source_asn.as_deref();
        let facts = match self.source_address {
            Some(v4) => route_facts_of(Some(IpAddr::V4(v4)), feed_asn, index),
            None => route_facts(self.source_ip.as_deref(), feed_asn, index),
        };
        if let (Some(asn), None) = (facts.asn, &self.source_asn) {
            let mut digits = [0u8; 20];
            let digits = crate::experts::decimal(u64::from(asn), &mut digits);
            self.write_plain(self.watched.asn, Kind::Integer, digits.as_bytes());
        }
        if let (Some(network), false) = (facts.network, self.has(self.watched.network)) {
            // Written from a prefix the routing table read: digits, dots, colons, a slash.
            self.write_plain(self.watched.network, Kind::Text, network.as_bytes());
        }
        if let (Some(country), false) = (facts.country, self.has(self.watched.country)) {
            self.write(self.watched.country, Kind::Text, country);
        }
        if let Some(org) = facts.routed.org {
            let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
            let text = org.as_hyphenated().encode_lower(&mut text);
            self.write_plain(self.watched.organisation, Kind::Text, text.as_bytes());
        }
        if facts.routed.tie {
            self.write_plain(self.watched.tie, Kind::Boolean, b"true");
        }
        self.out.push(b'}');
        (facts.routed, fingerprint_of(self.sum, self.count))
    }

    /// Ends the finished row's line.
    pub(crate) fn end_line(&mut self) {
        self.out.push(b'\n');
    }

    /// How long the buffer is.
    pub(crate) fn len(&self) -> usize {
        self.out.len()
    }

    /// The row's `classification.type`.
    pub(crate) fn classification_type(&self) -> &str {
        self.classification_type.as_deref().unwrap_or("")
    }

    /// The buffer, with every row written.
    pub(crate) fn into_lines(self) -> Vec<u8> {
        self.out
    }

    /// Appends a member and adds its fingerprint term.
    #[inline]
    fn write(&mut self, field: FieldId, kind: Kind, text: &str) -> Role {
        let (chosen, role) = self.mark(field);
        let info = self.table.get(field);
        write_member(info, kind, text, &mut self.out);
        if chosen {
            self.sum = self.sum.wrapping_add(field_term(info.hash, text));
            self.count += 1;
        }
        role
    }

    /// [`DirectRow::write`] for a value that is valid JSON for its kind as it is: copied,
    /// quoted when text, without a look for what to escape. Given as bytes, so that a time
    /// stamp needs no UTF-8 check to be written.
    // Always inlined: with the time stamp's writes routed here too, a call cost more than
    // the copy (under callgrind, 2 % of the engine).
    #[inline(always)]
    fn write_plain(&mut self, field: FieldId, kind: Kind, text: &[u8]) -> Role {
        let (chosen, role) = self.mark(field);
        let info = self.table.get(field);
        let start = self.out.len();
        let quoted = kind == Kind::Text;
        info.write_key(&mut self.out, quoted);
        self.out.extend_from_slice(text);
        if quoted {
            self.out.push(b'"');
        }
        debug_assert_eq!(
            &self.out[start..],
            &{
                let mut member = Vec::new();
                write_member(info, kind, std::str::from_utf8(text).expect("text"), &mut member);
                member
            }[..]
        );
        if chosen {
            self.sum = self.sum.wrapping_add(field_term_of_bytes(info.hash, text));
            self.count += 1;
        }
        role
    }

    /// Keeps aside what routing and counting will read.
    #[inline(always)]
    fn watch(&mut self, role: Role, text: impl FnOnce() -> Cow<'a, str>) {
        match role {
            Role::None | Role::FeedName => {}
            Role::Ip => (self.source_ip, self.source_address) = (Some(text()), None),
            Role::Asn => self.source_asn = Some(text()),
            Role::Type => self.classification_type = Some(text()),
        }
    }
}

impl<'a> RowSink<'a> for DirectRow<'a, '_> {
    #[inline]
    fn set_rendered(&mut self, rendered: &'a Rendered) {
        let (chosen, role) = self.mark(rendered.field());
        let rendered = match self.feed_name {
            Some(name) if role == Role::FeedName => name,
            _ => rendered,
        };
        rendered.write_json(&mut self.out);
        if chosen {
            self.sum = self.sum.wrapping_add(rendered.hash_term());
            self.count += 1;
        }
        self.watch(role, || Cow::Borrowed(rendered.text()));
    }

    fn set_all_rendered(&mut self, rendered: &'a [Rendered]) {
        if !self.joined.as_ref().is_some_and(|joined| std::ptr::eq(joined.source, rendered)) {
            self.joined = Some(self.join(rendered));
        }
        let DirectRow { joined: Some(joined), states, row, conflict, out, sum, count, classification_type, .. } = self else {
            unreachable!("joined just above")
        };
        if !joined.usable {
            for one in rendered {
                self.set_rendered(one);
            }
            return;
        }
        for field in &joined.fields {
            // `join` made sure every field has a state.
            let state = &mut states[field.index()];
            *conflict |= state.row == *row;
            state.row = *row;
        }
        out.extend_from_slice(&joined.json);
        *sum = sum.wrapping_add(joined.sum);
        *count += joined.count;
        if let Some(text) = joined.classification_type {
            *classification_type = Some(Cow::Borrowed(text));
        }
    }

    // Always inlined (1.8 % of the engine under callgrind); `set_rendered` and
    // `write_member` measured slower so.
    #[inline(always)]
    fn set_kind(&mut self, field: FieldId, kind: Kind, text: Cow<'a, str>) {
        let role = self.write(field, kind, &text);
        self.watch(role, || text);
    }

    #[inline(always)]
    fn set_plain(&mut self, field: FieldId, kind: Kind, text: Cow<'a, str>) {
        let role = self.write_plain(field, kind, text.as_bytes());
        self.watch(role, || text);
    }

    #[inline]
    fn set_stamp(&mut self, field: FieldId, stamp: &Stamp) {
        let role = self.write_plain(field, Kind::Text, stamp.as_bytes());
        self.watch(role, || Cow::Owned(stamp.as_str().to_string()));
    }

    #[inline(always)]
    fn set_address(&mut self, field: FieldId, kind: Kind, text: Cow<'a, str>, address: Ipv4Addr) {
        let role = self.write_plain(field, kind, text.as_bytes());
        self.watch(role, || text);
        if role == Role::Ip {
            self.source_address = Some(address);
        }
    }
}
