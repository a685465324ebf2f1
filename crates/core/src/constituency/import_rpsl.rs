//! RIPE database split files (`ripe.db.inetnum`, `ripe.db.organisation`, …): the networks and
//! AS numbers registered in one country, grouped by the organisation that holds them.

use super::import::{count_lines, excerpt, normalise_country, ImportedAsset, ImportedContact, OrgCollector, ParsedImport, Rejected};
use crate::constituency::prefix::{range_to_prefixes, reserved_range, IpPrefix};
use crate::constituency::resolve::AssetKind;
use crate::registry::RegistryError;
use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};

/// Reads RPSL objects from the given files and keeps those of `country` (ISO 3166-1 alpha-2).
///
/// An `inetnum`/`inet6num` is kept when its `country:` is `country`; an organisation is kept when
/// it holds a kept network or its own `country:` is `country`; an `aut-num` is kept with its
/// organisation. Rejects name the file and the line within it.
pub fn parse_rpsl(files: &[(&str, &str)], country: &str) -> ParsedImport {
    let want = country.trim().to_ascii_uppercase();
    let mut rejected = Vec::new();
    let mut lines = 0;
    let mut objects = Vec::new();
    for (file, text) in files {
        lines += count_lines(text);
        objects.extend(read_objects(file, text, &mut rejected));
    }

    let mut organisations: HashMap<String, &Object> = HashMap::new();
    let mut roles: HashMap<String, &Object> = HashMap::new();
    for object in &objects {
        let table = match object.class.as_str() {
            "organisation" => &mut organisations,
            "role" => &mut roles,
            _ => continue,
        };
        let handle = match object.class.as_str() {
            "role" => object.get("nic-hdl").unwrap_or(""),
            _ => object.key(),
        };
        if !handle.is_empty() {
            table.entry(handle.to_ascii_uppercase()).or_insert(object);
        }
    }

    let in_country = |object: &Object| object.get("country").is_some_and(|cc| cc.eq_ignore_ascii_case(&want));
    let is_network = |object: &Object| matches!(object.class.as_str(), "inetnum" | "inet6num");
    let mut kept_orgs: HashSet<String> = HashSet::new();
    for object in &objects {
        let held = is_network(object) && in_country(object);
        let own = object.class == "organisation" && in_country(object);
        let handle = if own {
            Some(object.key())
        } else if held {
            object.get("org")
        } else {
            None
        };
        if let Some(handle) = handle.filter(|h| !h.is_empty()) {
            kept_orgs.insert(handle.to_ascii_uppercase());
        }
    }

    let mut out = Emitter { want: &want, organisations: &organisations, roles: &roles, orgs: OrgCollector::default(), rejected };
    for object in &objects {
        match object.class.as_str() {
            "organisation" => {
                let handle = object.key().to_ascii_uppercase();
                if kept_orgs.contains(&handle) {
                    out.org_by_handle(&handle);
                }
            }
            "inetnum" | "inet6num" if in_country(object) => out.network(object),
            "inetnum" | "inet6num" if object.get("country").is_none() => {
                out.reject(
                    &object.file,
                    object.line,
                    format!("{} {} has no country: attribute and is skipped", object.class, excerpt(object.key())),
                );
            }
            "aut-num" => {
                if let Some(handle) = object.get("org").map(str::to_ascii_uppercase).filter(|h| kept_orgs.contains(h)) {
                    out.aut_num(object, &handle);
                }
            }
            _ => {}
        }
    }
    ParsedImport { orgs: out.orgs.finish(), rejected: out.rejected, lines }
}

/// One RPSL object: its class is the name of its first attribute.
#[derive(Debug, Clone, PartialEq)]
struct Object {
    file: String,
    class: String,
    line: usize,
    attrs: Vec<Attr>,
}

#[derive(Debug, Clone, PartialEq)]
struct Attr {
    /// Lower case.
    name: String,
    /// Continuation lines joined with single spaces.
    value: String,
    line: usize,
}

impl Object {
    /// The value of the class attribute (`inetnum: 1.2.3.0 - 1.2.3.255` → `1.2.3.0 - 1.2.3.255`).
    fn key(&self) -> &str {
        self.attrs.first().map_or("", |a| structured(&a.value))
    }

    /// The first value of a structured attribute, without an end-of-line `#` comment.
    fn get(&self, name: &str) -> Option<&str> {
        self.attr(name).map(|a| structured(&a.value)).filter(|v| !v.is_empty())
    }

    /// The first value of a free-text attribute (`descr`, `org-name`), where `#` is text.
    fn text(&self, name: &str) -> Option<&str> {
        self.attr(name).map(|a| a.value.trim()).filter(|v| !v.is_empty())
    }

    fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|a| a.name == name)
    }
}

fn structured(value: &str) -> &str {
    value.split('#').next().unwrap_or("").trim()
}

/// Splits a file into objects. Blank lines end an object; `#` and `%` lines are comments;
/// a line starting with a space, a tab or `+` continues the previous attribute.
fn read_objects(file: &str, text: &str, rejected: &mut Vec<Rejected>) -> Vec<Object> {
    let mut objects = Vec::new();
    let mut current: Option<Object> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let raw = if i == 0 { raw.trim_start_matches('\u{feff}') } else { raw };
        if raw.trim().is_empty() {
            objects.extend(current.take());
            continue;
        }
        if raw.starts_with(['#', '%']) {
            continue;
        }
        if let Some(rest) = raw.strip_prefix([' ', '\t', '+']) {
            match current.as_mut().and_then(|o| o.attrs.last_mut()) {
                Some(attr) => {
                    let more = rest.trim();
                    if !more.is_empty() {
                        if !attr.value.is_empty() {
                            attr.value.push(' ');
                        }
                        attr.value.push_str(more);
                    }
                }
                None => rejected.push(Rejected {
                    file: Some(file.to_string()),
                    line,
                    reason: "a continuation line (starting with a space, a tab or '+') must follow an attribute".into(),
                }),
            }
            continue;
        }
        match raw.split_once(':') {
            Some((name, value)) if !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') => {
                let attr = Attr { name: name.to_ascii_lowercase(), value: value.trim().to_string(), line };
                match current.as_mut() {
                    Some(object) => object.attrs.push(attr),
                    None => current = Some(Object { file: file.to_string(), class: attr.name.clone(), line, attrs: vec![attr] }),
                }
            }
            _ => rejected.push(Rejected {
                file: Some(file.to_string()),
                line,
                reason: format!("expected \"attribute: value\", got {:?}", excerpt(raw.trim())),
            }),
        }
    }
    objects.extend(current);
    objects
}

/// Turns kept objects into organisations, assets and contacts.
struct Emitter<'a> {
    want: &'a str,
    organisations: &'a HashMap<String, &'a Object>,
    roles: &'a HashMap<String, &'a Object>,
    orgs: OrgCollector,
    rejected: Vec<Rejected>,
}

impl Emitter<'_> {
    fn reject(&mut self, file: &str, line: usize, reason: String) {
        self.rejected.push(Rejected { file: Some(file.to_string()), line, reason });
    }

    /// The organisation with this RIPE handle; on first sight its `abuse-c` becomes a contact.
    fn org_by_handle(&mut self, handle: &str) -> usize {
        let organisations = self.organisations;
        let object = organisations.get(handle).copied();
        let name = object.and_then(|o| o.text("org-name")).unwrap_or(handle);
        let country = object.and_then(|o| o.get("country")).and_then(normalise_country);
        let (index, new) = self.orgs.org(handle, name, country.as_deref());
        if let (true, Some(object)) = (new, object) {
            self.role_contact(index, object, handle);
        }
        index
    }

    /// Adds the contact of the role that the object's `abuse-c:` names.
    fn role_contact(&mut self, org: usize, object: &Object, holder: &str) {
        let Some(attr) = object.attr("abuse-c") else { return };
        let nic = structured(&attr.value).to_ascii_uppercase();
        if nic.is_empty() {
            return;
        }
        let roles = self.roles;
        let Some(role) = roles.get(&nic).copied() else {
            let reason =
                format!("abuse-c {} of {} is not among the role objects read; no contact is taken from it", excerpt(&nic), excerpt(holder));
            self.reject(&object.file, attr.line, reason);
            return;
        };
        let phone = role.get("phone").filter(|p| is_phone(p)).map(str::to_string);
        let (role_name, source) = match (role.attr("abuse-mailbox"), role.attr("e-mail")) {
            (Some(a), _) => ("abuse", a),
            (None, Some(e)) => ("security", e),
            (None, None) => return,
        };
        self.email_contact(org, role_name, source, phone, &role.file);
    }

    fn email_contact(&mut self, org: usize, role: &str, attr: &Attr, phone: Option<String>, file: &str) {
        let raw = structured(&attr.value);
        match crate::account::normalise_email(raw) {
            Ok(email) => {
                let contact = ImportedContact { role: role.to_string(), email: Some(email), phone, language: None, line: attr.line };
                self.orgs.add_contact(org, contact);
            }
            Err(_) => self.reject(file, attr.line, format!("{} {:?} is not a valid e-mail address", attr.name, excerpt(raw))),
        }
    }

    /// A kept `inetnum` or `inet6num`: its organisation, its prefixes and its own abuse contact.
    fn network(&mut self, object: &Object) {
        let range = object.key();
        let parsed = if object.class == "inetnum" { ipv4_range(range) } else { ipv6_prefix(range) };
        let prefixes = match parsed {
            Ok(p) => p,
            Err(reason) => return self.reject(&object.file, object.line, format!("{} {:?}: {reason}", object.class, excerpt(range))),
        };
        let netname = object.get("netname");
        let org = match (object.get("org"), netname) {
            (Some(handle), _) => self.org_by_handle(&handle.to_ascii_uppercase()),
            (None, Some(netname)) => {
                let key = format!("netname:{}", netname.to_ascii_uppercase());
                let name = object.text("descr").unwrap_or(netname);
                self.orgs.org(&key, name, Some(self.want)).0
            }
            (None, None) => {
                let reason =
                    format!("{} {} has neither org: nor netname: and cannot be given to an organisation", object.class, excerpt(range));
                return self.reject(&object.file, object.line, reason);
            }
        };
        let comment = match netname {
            Some(n) => format!("RIPE {} {range} netname {n}", object.class),
            None => format!("RIPE {} {range}", object.class),
        };
        for prefix in prefixes {
            if let Some(reserved) = reserved_range(&prefix) {
                let reason = RegistryError::Reserved { prefix: prefix.to_string(), range: reserved }.to_string();
                self.reject(&object.file, object.line, reason);
                continue;
            }
            let kind = if prefix.is_ipv4() { AssetKind::Ipv4Prefix } else { AssetKind::Ipv6Prefix };
            let asset =
                ImportedAsset { kind, value: prefix.to_string(), include_subdomains: false, comment: comment.clone(), line: object.line };
            self.orgs.add_asset(org, asset);
        }
        if let Some(attr) = object.attr("abuse-mailbox") {
            self.email_contact(org, "abuse", attr, None, &object.file);
        }
        self.role_contact(org, object, range);
    }

    /// A kept `aut-num`; it has no country of its own and follows its organisation.
    fn aut_num(&mut self, object: &Object, handle: &str) {
        let asn = match crate::constituency::prefix::parse_asn(object.key()) {
            Ok(asn) => asn,
            Err(e) => return self.reject(&object.file, object.line, format!("aut-num {:?}: {e}", excerpt(object.key()))),
        };
        let org = self.org_by_handle(handle);
        let comment = match object.get("as-name") {
            Some(n) => format!("RIPE aut-num AS{asn} as-name {n}"),
            None => format!("RIPE aut-num AS{asn}"),
        };
        let asset = ImportedAsset { kind: AssetKind::Asn, value: asn.to_string(), include_subdomains: false, comment, line: object.line };
        self.orgs.add_asset(org, asset);
    }
}

/// `1.2.3.0 - 1.2.4.255` (any range, covered by the fewest prefixes) or a CIDR prefix.
fn ipv4_range(value: &str) -> Result<Vec<IpPrefix>, String> {
    if value.contains('/') {
        let prefix = IpPrefix::parse(value).map_err(|e| e.to_string())?;
        return if prefix.is_ipv4() { Ok(vec![prefix]) } else { Err("an inetnum must be IPv4".into()) };
    }
    let (start, end) = value.split_once('-').ok_or("expected \"first - last\" addresses")?;
    let start: Ipv4Addr = start.trim().parse().map_err(|_| format!("{:?} is not an IPv4 address", excerpt(start.trim())))?;
    let end: Ipv4Addr = end.trim().parse().map_err(|_| format!("{:?} is not an IPv4 address", excerpt(end.trim())))?;
    if start > end {
        return Err("the first address is after the last".into());
    }
    range_to_prefixes(IpAddr::V4(start), IpAddr::V4(end)).map_err(|e| e.to_string())
}

fn ipv6_prefix(value: &str) -> Result<Vec<IpPrefix>, String> {
    let prefix = IpPrefix::parse(value).map_err(|e| e.to_string())?;
    if prefix.is_ipv4() {
        return Err("an inet6num must be IPv6".into());
    }
    Ok(vec![prefix])
}

/// The registry's rule for phone numbers; RIPE numbers that do not fit are left out.
fn is_phone(p: &str) -> bool {
    p.chars().count() <= 40 && p.chars().any(|c| c.is_ascii_digit()) && p.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORGANISATION: &str = "\
% This is the RIPE Database query service.
% The objects are in RPSL format.

organisation:   ORG-HA1-RIPE
org-name:       Harbour Analytics
+               Ltd.
country:        TW # Taiwan
abuse-c:        HA1-RIPE
source:         RIPE

organisation:   ORG-FO1-RIPE
org-name:       Foreign Only
country:        DE
abuse-c:        FO1-RIPE

organisation:   ORG-NR1-RIPE
org-name:       Networks Abroad
country:        NL
abuse-c:        MISSING-RIPE
";

    const ROLE: &str = "\
role:           Harbour Abuse
nic-hdl:        HA1-RIPE
abuse-mailbox:  Abuse@Harbour.example.tw
e-mail:         noc@harbour.example.tw
phone:          +886 2 1234 5678

role:           Foreign Abuse
nic-hdl:        FO1-RIPE
e-mail:         sec@foreign.example.de
";

    const INETNUM: &str = "\
# comment line
inetnum:        1.2.3.0 - 1.2.5.255
netname:        HARBOUR-NET
descr:          Harbour Analytics
  main site
country:        tw
org:            ORG-HA1-RIPE
status:         ASSIGNED PA

inetnum:        5.6.7.0 - 5.6.7.255
netname:        FOREIGN-NET
country:        DE
org:            ORG-FO1-RIPE

inetnum:        10.0.0.0 - 10.0.0.255
netname:        PRIVATE-NET
country:        TW
org:            ORG-HA1-RIPE

inetnum:        9.9.9.9 - 9.9.9.0
netname:        BACKWARDS
country:        TW

inetnum:        8.8.4.0 - 8.8.4.255
netname:        SCHOOL-NET
descr:          Example School
country:        TW
abuse-mailbox:  abuse@school.example.tw

inetnum:        8.8.5.0 - 8.8.5.255
netname:        ABROAD-NET
country:        TW
org:            ORG-NR1-RIPE
this line is broken
";

    const INET6NUM: &str = "\
inet6num:       2a01:1234::/32
netname:        HARBOUR-V6
country:        TW
org:            ORG-HA1-RIPE

inet6num:       2a02:5678::/32
netname:        FOREIGN-V6
country:        DE
org:            ORG-FO1-RIPE
";

    const AUT_NUM: &str = "\
aut-num:        AS3320
as-name:        FOREIGN-AS
org:            ORG-FO1-RIPE

aut-num:        AS200123
as-name:        HARBOUR-AS
org:            ORG-HA1-RIPE
";

    fn fixture() -> ParsedImport {
        parse_rpsl(
            &[
                ("ripe.db.organisation", ORGANISATION),
                ("ripe.db.role", ROLE),
                ("ripe.db.inetnum", INETNUM),
                ("ripe.db.inet6num", INET6NUM),
                ("ripe.db.aut-num", AUT_NUM),
            ],
            "tw",
        )
    }

    #[test]
    fn objects_split_on_blank_lines_and_continue() {
        let mut rejected = Vec::new();
        let objects = read_objects("f", "% c\n\n\ninetnum: 1.2.3.0 - 1.2.3.255\ndescr: a\n+b\n\tc # x\n\n\naut-num: AS1\n", &mut rejected);
        assert!(rejected.is_empty());
        assert_eq!(objects.len(), 2);
        assert_eq!((objects[0].class.as_str(), objects[0].line), ("inetnum", 4));
        assert_eq!(objects[0].text("descr"), Some("a b c # x"));
        assert_eq!((objects[1].class.as_str(), objects[1].key(), objects[1].line), ("aut-num", "AS1", 10));
    }

    #[test]
    fn fixture_keeps_one_country() {
        let parsed = fixture();
        let keys: Vec<&str> = parsed.orgs.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["ORG-HA1-RIPE", "ORG-NR1-RIPE", "netname:SCHOOL-NET"]);

        let harbour = &parsed.orgs[0];
        assert_eq!((harbour.name.as_str(), harbour.country.as_deref()), ("Harbour Analytics Ltd.", Some("TW")));
        let assets: Vec<(AssetKind, &str)> = harbour.assets.iter().map(|a| (a.kind, a.value.as_str())).collect();
        assert_eq!(
            assets,
            [
                (AssetKind::Ipv4Prefix, "1.2.3.0/24"),
                (AssetKind::Ipv4Prefix, "1.2.4.0/23"),
                (AssetKind::Ipv6Prefix, "2a01:1234::/32"),
                (AssetKind::Asn, "200123")
            ]
        );
        assert_eq!(harbour.assets[0].comment, "RIPE inetnum 1.2.3.0 - 1.2.5.255 netname HARBOUR-NET");
        assert_eq!(harbour.assets[0].line, 2);
        assert_eq!(harbour.assets[3].comment, "RIPE aut-num AS200123 as-name HARBOUR-AS");
        assert_eq!(harbour.contacts.len(), 1);
        let c = &harbour.contacts[0];
        assert_eq!(
            (c.role.as_str(), c.email.as_deref(), c.phone.as_deref()),
            ("abuse", Some("abuse@harbour.example.tw"), Some("+886 2 1234 5678"))
        );

        let abroad = &parsed.orgs[1];
        assert_eq!((abroad.name.as_str(), abroad.country.as_deref()), ("Networks Abroad", Some("NL")));
        assert_eq!(abroad.assets.len(), 1);
        assert!(abroad.contacts.is_empty());

        let school = &parsed.orgs[2];
        assert_eq!((school.name.as_str(), school.country.as_deref()), ("Example School", Some("TW")));
        assert_eq!(school.assets[0].value, "8.8.4.0/24");
        assert_eq!(school.contacts[0].email.as_deref(), Some("abuse@school.example.tw"));

        let rejects: Vec<(&str, usize)> = parsed.rejected.iter().map(|r| (r.file.as_deref().unwrap(), r.line)).collect();
        assert_eq!(
            rejects,
            [("ripe.db.inetnum", 34), ("ripe.db.organisation", 19), ("ripe.db.inetnum", 15), ("ripe.db.inetnum", 20)],
            "{:?}",
            parsed.rejected
        );
        assert!(parsed.rejected[0].reason.contains("attribute: value"));
        assert!(parsed.rejected[1].reason.contains("MISSING-RIPE"));
        assert!(parsed.rejected[2].reason.ends_with("an organisation cannot claim it"), "{:?}", parsed.rejected[2]);
        assert!(parsed.rejected[3].reason.contains("after the last"));
        assert_eq!(parsed.lines, 19 + 9 + 34 + 9 + 7);
    }

    #[test]
    fn another_country_sees_other_objects() {
        let parsed = parse_rpsl(
            &[("ripe.db.organisation", ORGANISATION), ("ripe.db.role", ROLE), ("ripe.db.inet6num", INET6NUM), ("ripe.db.aut-num", AUT_NUM)],
            "DE",
        );
        assert_eq!(parsed.orgs.len(), 1);
        let foreign = &parsed.orgs[0];
        assert_eq!(foreign.assets.iter().map(|a| a.value.as_str()).collect::<Vec<_>>(), ["2a02:5678::/32", "3320"]);
        assert_eq!((foreign.contacts[0].role.as_str(), foreign.contacts[0].email.as_deref()), ("security", Some("sec@foreign.example.de")));
    }

    #[test]
    fn same_files_same_result() {
        assert_eq!(fixture(), fixture());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_input_never_panics(a in "\\PC{0,300}", b in "(inetnum|inet6num|aut-num|org|country|netname|abuse-c|role|nic-hdl|abuse-mailbox|[ +#%]|[0-9a-f.:/ -]{1,12}|: |\n){0,60}") {
            let parsed = parse_rpsl(&[("a", a.as_str()), ("b", b.as_str())], "TW");
            let longest = count_lines(&a).max(count_lines(&b));
            for r in &parsed.rejected {
                proptest::prop_assert!(r.line >= 1 && r.line <= longest && longest <= parsed.lines, "{r:?}");
            }
        }
    }
}
