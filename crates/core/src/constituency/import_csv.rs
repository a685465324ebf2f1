//! Constituency spreadsheets: one row per asset and/or contact, rows merged by organisation.
//! The CSV reader is our own (RFC 4180) so that line numbers in rejects are those the operator
//! sees in an editor, even when quoted cells span lines.

use super::import::{count_lines, excerpt, normalise_country, ImportedAsset, ImportedContact, OrgCollector, ParsedImport, Rejected};
use crate::constituency::resolve::AssetKind;
use crate::registry::{classify_asset, ContactRole, NewContact, RegistryError};

/// The columns the importer understands; names are case-insensitive, in any order.
pub const COLUMNS: &[&str] = &[
    "organisation",
    "country",
    "asset",
    "include_subdomains",
    "comment",
    "contact_role",
    "contact_email",
    "contact_phone",
    "contact_language",
];

const ORGANISATION: usize = 0;
const COUNTRY: usize = 1;
const ASSET: usize = 2;
const INCLUDE_SUBDOMAINS: usize = 3;
const COMMENT: usize = 4;
const CONTACT_ROLE: usize = 5;
const CONTACT_EMAIL: usize = 6;
const CONTACT_PHONE: usize = 7;
const CONTACT_LANGUAGE: usize = 8;

/// The same limit as for a comment typed into the registry.
const MAX_COMMENT: usize = 1000;

/// Reads a constituency CSV. Bad rows are listed in `rejected` with their line; the rest is kept.
pub fn parse_csv(text: &str) -> ParsedImport {
    let lines = count_lines(text);
    let mut rejected = Vec::new();
    let mut records = read_records(text).into_iter().filter(|r| !r.is_blank());

    let Some(header) = records.next() else {
        rejected.push(reject(1, "the file is empty; the first row must name the columns (organisation, asset, …)".into()));
        return ParsedImport { orgs: Vec::new(), rejected, lines };
    };
    if let Some(error) = header.error {
        rejected.push(reject(header.line, format!("the header row cannot be read: {error}")));
        return ParsedImport { orgs: Vec::new(), rejected, lines };
    }
    let mut positions: [Option<usize>; COLUMNS.len()] = [None; COLUMNS.len()];
    let mut notes = Vec::new();
    for (i, cell) in header.fields.iter().enumerate() {
        let name = column_name(cell);
        match COLUMNS.iter().position(|c| *c == name) {
            Some(c) if positions[c].is_none() => positions[c] = Some(i),
            Some(_) => notes.push(reject(header.line, format!("column {name:?} appears twice; the second one is ignored"))),
            None if name.is_empty() => {}
            None => notes.push(reject(header.line, format!("unknown column {:?} ignored", excerpt(cell.trim())))),
        }
    }
    if positions[ORGANISATION].is_none() {
        let reason = format!("the first row must be a header with an \"organisation\" column (known columns: {})", COLUMNS.join(", "));
        rejected.push(reject(header.line, reason));
        return ParsedImport { orgs: Vec::new(), rejected, lines };
    }
    rejected.extend(notes);

    let mut orgs = OrgCollector::default();
    for record in records {
        if let Err(reason) = apply_row(&record, header.fields.len(), &positions, &mut orgs) {
            rejected.push(reject(record.line, reason));
        }
    }
    ParsedImport { orgs: orgs.finish(), rejected, lines }
}

fn reject(line: usize, reason: String) -> Rejected {
    Rejected { file: None, line, reason }
}

/// `Contact E-mail` and `contact-email` both mean `contact_email`; the US spelling is accepted.
fn column_name(cell: &str) -> String {
    let name = cell.trim().to_lowercase().replace([' ', '-'], "_");
    if name == "organization" {
        "organisation".into()
    } else {
        name
    }
}

fn apply_row(record: &Record, width: usize, positions: &[Option<usize>; COLUMNS.len()], orgs: &mut OrgCollector) -> Result<(), String> {
    if let Some(error) = &record.error {
        return Err(error.clone());
    }
    if record.fields.len() > width && record.fields[width..].iter().any(|f| !f.trim().is_empty()) {
        return Err(format!(
            "the row has {} cells but the header names {width}; a value containing a comma must be in double quotes",
            record.fields.len()
        ));
    }
    let cell = |c: usize| positions[c].and_then(|i| record.fields.get(i)).map_or("", |f| f.trim());

    let name = cell(ORGANISATION);
    if name.is_empty() {
        return Err("the organisation is empty".into());
    }
    if name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err("the organisation name must be at most 200 characters without control characters".into());
    }
    let country = match cell(COUNTRY) {
        "" => None,
        raw => Some(normalise_country(raw).ok_or_else(|| format!("country {:?} is not a two-letter ISO 3166-1 code", excerpt(raw)))?),
    };
    if let (Some(known), Some(given)) = (orgs.find(name).and_then(|o| o.country.as_deref()), country.as_deref()) {
        if known != given {
            return Err(format!("country {given} differs from {known} given earlier for {:?}", excerpt(name)));
        }
    }

    let asset = match cell(ASSET) {
        "" => None,
        raw => {
            let (kind, value) = classify_asset(raw).map_err(|e| match e {
                RegistryError::Reserved { .. } => e.to_string(),
                other => format!("asset {:?}: {other}", excerpt(raw)),
            })?;
            let include = parse_yes_no(cell(INCLUDE_SUBDOMAINS))
                .map_err(|raw| format!("include_subdomains must be yes or no (got {:?})", excerpt(raw)))?;
            let comment = cell(COMMENT).split_whitespace().collect::<Vec<_>>().join(" ");
            if comment.chars().count() > MAX_COMMENT {
                return Err(format!("the comment is longer than {MAX_COMMENT} characters"));
            }
            let include_subdomains = kind == AssetKind::Domain && include.unwrap_or(true);
            Some(ImportedAsset { kind, value, include_subdomains, comment, line: record.line })
        }
    };

    let contact_given = [CONTACT_ROLE, CONTACT_EMAIL, CONTACT_PHONE, CONTACT_LANGUAGE].iter().any(|&c| !cell(c).is_empty());
    let contact = if contact_given { Some(read_contact(&cell, record.line)?) } else { None };

    let (org, _) = orgs.org(name, name, country.as_deref());
    if let Some(asset) = asset {
        orgs.add_asset(org, asset);
    }
    if let Some(contact) = contact {
        orgs.add_contact(org, contact);
    }
    Ok(())
}

/// A row's contact, checked by the same rules as one entered by hand; the role defaults to `abuse`.
fn read_contact<'a>(cell: &dyn Fn(usize) -> &'a str, line: usize) -> Result<ImportedContact, String> {
    let role = match cell(CONTACT_ROLE) {
        "" => ContactRole::Abuse,
        raw => raw.to_lowercase().replace([' ', '-'], "_").parse::<ContactRole>().map_err(|e| e.to_string())?,
    };
    let language = cell(CONTACT_LANGUAGE);
    let checked = NewContact {
        role,
        name: None,
        email: Some(cell(CONTACT_EMAIL).to_string()),
        phone: Some(cell(CONTACT_PHONE).to_string()),
        language: language.to_string(),
        pgp_key: None,
    }
    .validate()
    .map_err(|e| e.to_string())?;
    Ok(ImportedContact {
        role: checked.role.as_str().to_string(),
        email: checked.email,
        phone: checked.phone,
        language: (!language.is_empty()).then_some(checked.language),
        line,
    })
}

/// `Ok(None)` for an empty cell; the unrecognised text otherwise.
fn parse_yes_no(raw: &str) -> Result<Option<bool>, &str> {
    match raw.to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "yes" | "y" | "true" | "1" => Ok(Some(true)),
        "no" | "n" | "false" | "0" => Ok(Some(false)),
        _ => Err(raw),
    }
}

/// One CSV record with the line its first character is on.
#[derive(Debug, Clone, PartialEq)]
struct Record {
    line: usize,
    fields: Vec<String>,
    /// Why the record cannot be trusted (an unclosed quote, text after a closing quote).
    error: Option<String>,
}

impl Record {
    /// Empty lines and rows of empty cells (`,,,` from spreadsheets) are not rows.
    fn is_blank(&self) -> bool {
        self.error.is_none() && self.fields.iter().all(|f| f.trim().is_empty())
    }
}

/// RFC 4180: fields separated by commas, records by CRLF or LF; a field in double quotes
/// may hold commas, line breaks and doubled quotes. A leading UTF-8 BOM is skipped.
fn read_records(text: &str) -> Vec<Record> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while chars.peek().is_some() {
        let start = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut error: Option<String> = None;
        let mut in_quotes = false;
        let mut after_quote = false;
        loop {
            let Some(c) = chars.next() else {
                if in_quotes && error.is_none() {
                    error = Some("a double quote opened on this line is never closed".into());
                }
                fields.push(field);
                break;
            };
            if in_quotes {
                match c {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => {
                        in_quotes = false;
                        after_quote = true;
                    }
                    '\n' => {
                        line += 1;
                        field.push('\n');
                    }
                    _ => field.push(c),
                }
                continue;
            }
            match c {
                '"' if !after_quote && field.trim().is_empty() => {
                    field.clear();
                    in_quotes = true;
                }
                ',' => {
                    fields.push(std::mem::take(&mut field));
                    after_quote = false;
                }
                '\n' => {
                    line += 1;
                    fields.push(field);
                    break;
                }
                '\r' if chars.peek() == Some(&'\n') => {}
                _ => {
                    if after_quote && !c.is_whitespace() && error.is_none() {
                        error = Some("text follows a closing double quote; write a quote inside a quoted value as \"\"".into());
                    }
                    field.push(c);
                }
            }
        }
        records.push(Record { line: start, fields, error });
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str) -> Vec<(usize, Vec<String>)> {
        read_records(text).into_iter().map(|r| (r.line, r.fields)).collect()
    }

    #[test]
    fn reader_handles_quotes_crlf_and_bom() {
        let got = fields("\u{feff}a,b\r\n\"x, \"\"y\"\"\",\"two\r\nlines\"\r\nlast,\r\n");
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], (1, vec!["a".to_string(), "b".to_string()]));
        assert_eq!(got[1], (2, vec!["x, \"y\"".to_string(), "two\r\nlines".to_string()]));
        assert_eq!(got[2], (4, vec!["last".to_string(), String::new()]));
        let bad = read_records("\"open,\nnever closed\n");
        assert_eq!(bad.len(), 1);
        assert!(bad[0].error.as_deref().unwrap().contains("never closed"));
        assert!(read_records("\"a\"b,c\n")[0].error.is_some());
    }

    const SAMPLE: &str =
        "\u{feff}Organisation,Country,Asset,include_subdomains,Comment,contact_role,contact_email,contact_language,Notes\r\n\
\"Taiwan Power Company, Ltd.\",tw,1.34.0.0/16,,\"Main office\r\nnetwork, \"\"core\"\"\",,,,x\r\n\
\"Taiwan Power Company, Ltd.\",,AS3462,,,,,,\r\n\
\"Taiwan Power Company, Ltd.\",,Taipower.com.TW,no,,abuse,SOC@Taipower.com.tw,zh-tw,\r\n\
\"Taiwan Power Company, Ltd.\",,1.34.0.0/16,,duplicate,,,,\r\n\
Example Agency,TW,2001:b000::/20,,,,,,\r\n\
Example Agency,,192.168.0.0/16,,,,,,\r\n\
Example Agency,,1.2.3.4/24,,,,,,\r\n\
Example Agency,,1.2.3.0/33,,,,,,\r\n\
Example Agency,,gov.example.tw,maybe,,,,,\r\n\
Example Agency,,168.95.1.1,,,,,,\r\n\
Example Agency,,,,,ciso,not-an-address,,\r\n\
Example Agency,,8.8.8.0/24,,,,,,,extra\r\n\
,TW,9.9.9.0/24,,,,,,\r\n\
Example Agency,JP,,,,,,,\r\n\
\r\n\
Example Agency,,,,,security,sec@agency.example.tw,,\r\n";

    #[test]
    fn sample_file() {
        let parsed = parse_csv(SAMPLE);
        assert_eq!(parsed.lines, 18);
        let reasons: Vec<(usize, &str)> = parsed.rejected.iter().map(|r| (r.line, r.reason.as_str())).collect();
        assert!(parsed.rejected.iter().all(|r| r.file.is_none()));
        assert_eq!(reasons[0], (1, "unknown column \"Notes\" ignored"));
        let lines: Vec<usize> = reasons.iter().map(|r| r.0).collect();
        assert_eq!(lines, [1, 8, 9, 10, 11, 13, 14, 15, 16]);
        assert!(reasons[1].1.contains("192.168.0.0/16 is") && reasons[1].1.ends_with("an organisation cannot claim it"), "{reasons:?}");
        assert!(reasons[3].1.contains("1.2.3.0/33"));
        assert!(reasons[4].1.contains("include_subdomains"));
        assert!(reasons[5].1.contains("not-an-address"));
        assert!(reasons[6].1.contains("cells"));
        assert!(reasons[7].1.contains("organisation is empty"));
        assert!(reasons[8].1.contains("differs"));

        assert_eq!(parsed.orgs.len(), 2);
        let tpc = &parsed.orgs[0];
        assert_eq!((tpc.key.as_str(), tpc.name.as_str()), ("Taiwan Power Company, Ltd.", "Taiwan Power Company, Ltd."));
        assert_eq!(tpc.country.as_deref(), Some("TW"));
        let assets: Vec<(AssetKind, &str, bool)> = tpc.assets.iter().map(|a| (a.kind, a.value.as_str(), a.include_subdomains)).collect();
        assert_eq!(
            assets,
            [(AssetKind::Ipv4Prefix, "1.34.0.0/16", false), (AssetKind::Asn, "3462", false), (AssetKind::Domain, "taipower.com.tw", false)]
        );
        assert_eq!(tpc.assets[0].comment, "Main office network, \"core\"");
        assert_eq!(tpc.assets[0].line, 2);
        assert_eq!(tpc.assets[1].line, 4);
        assert_eq!(tpc.contacts.len(), 1);
        let c = &tpc.contacts[0];
        assert_eq!(
            (c.role.as_str(), c.email.as_deref(), c.language.as_deref(), c.line),
            ("abuse", Some("soc@taipower.com.tw"), Some("zh-TW"), 5)
        );

        let agency = &parsed.orgs[1];
        let assets: Vec<(AssetKind, &str)> = agency.assets.iter().map(|a| (a.kind, a.value.as_str())).collect();
        assert_eq!(assets, [(AssetKind::Ipv6Prefix, "2001:b000::/20"), (AssetKind::Ipv4Prefix, "168.95.1.1/32")]);
        assert_eq!(agency.contacts.len(), 1);
        assert_eq!((agency.contacts[0].role.as_str(), agency.contacts[0].language.as_deref()), ("security", None));
    }

    #[test]
    fn domains_include_subdomains_by_default() {
        let parsed = parse_csv("organisation,asset\nA,example.tw\n");
        assert!(parsed.rejected.is_empty());
        assert_eq!(parsed.orgs[0].assets[0].kind, AssetKind::Domain);
        assert!(parsed.orgs[0].assets[0].include_subdomains);
    }

    #[test]
    fn header_problems_refuse_the_file() {
        let empty = parse_csv("");
        assert_eq!((empty.lines, empty.rejected.len(), empty.orgs.len()), (1, 1, 0));
        let no_header = parse_csv("\n\nAcme,1.34.0.0/16\n");
        assert_eq!(no_header.orgs.len(), 0);
        assert_eq!(no_header.rejected.len(), 1);
        assert_eq!(no_header.rejected[0].line, 3);
        assert!(no_header.rejected[0].reason.contains("organisation"));
        let dup = parse_csv("organization,asset,Asset\nA,example.tw,x\n");
        assert_eq!(dup.orgs.len(), 1);
        assert!(dup.rejected[0].reason.contains("twice"));
    }

    #[test]
    fn a_row_without_asset_or_contact_still_registers_the_organisation() {
        let parsed = parse_csv("organisation,country\nAcme,tw\n");
        assert_eq!(parsed.orgs.len(), 1);
        assert_eq!(parsed.orgs[0].country.as_deref(), Some("TW"));
        assert!(parsed.orgs[0].assets.is_empty() && parsed.orgs[0].contacts.is_empty());
    }

    #[test]
    fn same_text_same_result() {
        assert_eq!(parse_csv(SAMPLE), parse_csv(SAMPLE));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_input_never_panics(text in "\\PC{0,300}", structured in "[a-z0-9.,:/\"\r\n ]{0,300}") {
            for input in [text, format!("organisation,asset,contact_email\n{structured}")] {
                let parsed = parse_csv(&input);
                for r in &parsed.rejected {
                    proptest::prop_assert!(r.line >= 1 && r.line <= parsed.lines, "{r:?} outside 1..={}", parsed.lines);
                }
                for org in &parsed.orgs {
                    for a in &org.assets {
                        proptest::prop_assert!(a.line >= 1 && a.line <= parsed.lines);
                    }
                }
            }
        }
    }
}
