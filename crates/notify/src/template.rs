//! Notification templates: plain text with `{{ variable }}` placeholders and one kind of
//! section, `{{#events}} … {{/events}}`, repeated once per event. Templates are checked
//! when they are saved (`compile`), so a typo is reported with its line and column instead
//! of going out as a notification with a hole in it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One event: IntelMQ-harmonisation field names (`source.ip`, `classification.type`, …)
/// and their values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Event(pub BTreeMap<String, String>);

impl Event {
    /// The value of a field; an empty value counts as missing.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str).filter(|v| !v.trim().is_empty())
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Event {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Event(iter.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

/// What a template is rendered with. `event_count` and `events_table` are derived from
/// `events` when not given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateContext {
    pub vars: BTreeMap<&'static str, String>,
    pub events: Vec<Event>,
}

impl TemplateContext {
    pub fn set(&mut self, name: &'static str, value: impl Into<String>) -> &mut Self {
        self.vars.insert(name, value.into());
        self
    }
}

/// A template as written: the subject line and the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    pub subject: String,
    pub body: String,
}

/// The top-level variables a template may use, with what they hold.
pub const VARIABLES: &[(&str, &str)] = &[
    ("org_name", "Name of the organisation the notification is sent to"),
    ("recipient_email", "Address the notification is sent to"),
    ("cert_name", "Name of the CERT sending the notification"),
    ("cert_email", "The CERT's address, where replies go"),
    ("reference", "Reference of the notification, e.g. INC-2026-000123; replies must keep it in the subject"),
    ("event_count", "Number of events in the notification"),
    ("classification_type", "Classification type of the events, e.g. vulnerable-service"),
    ("feed_name", "Name of the data feed the events come from"),
    ("period_start", "Time of the earliest event"),
    ("period_end", "Time of the latest event"),
    ("events_table", "The events as a fixed-width text table"),
    ("language", "Language of the notification, e.g. en or zh-TW"),
];

/// Kinds of notification that have default templates.
pub const KINDS: &[&str] = &["feed_events", "incident"];
/// Languages that have default templates.
pub const LANGUAGES: &[&str] = &["en", "zh-TW"];

/// Columns of `events_table` when a context does not give the table itself.
pub const TABLE_COLUMNS: &[&str] =
    &["time.source", "source.ip", "source.port", "source.fqdn", "classification.type", "protocol.application", "malware.name", "extra.tag"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("{part}: unknown variable {{{{ {name} }}}} at line {line}, column {column}; known: {known}")]
    UnknownVariable { part: &'static str, name: String, line: usize, column: usize, known: String },
    #[error("{part}: {message} at line {line}, column {column}")]
    Syntax { part: &'static str, message: String, line: usize, column: usize },
    #[error("the template uses {{{{ {0} }}}}, but no value was given for it")]
    MissingValue(String),
    #[error("a template file must start with a \"Subject: …\" line, then a blank line, then the body")]
    FileFormat,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Text(String),
    Var(&'static str),
    /// A field of the current event, inside `{{#events}}`.
    Field(String),
    Events(Vec<Node>),
}

/// A template that has been checked and can be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompiledTemplate {
    subject: Vec<Node>,
    body: Vec<Node>,
}

/// Checks a template and prepares it for rendering.
pub fn compile(t: &Template) -> Result<CompiledTemplate, TemplateError> {
    if let Some(offset) = t.subject.find(['\r', '\n']) {
        return Err(syntax("subject", &t.subject, offset, "the subject must be a single line"));
    }
    let subject = parse(&t.subject, "subject", false)?;
    let body = parse(&t.body, "body", true)?;
    Ok(CompiledTemplate { subject, body })
}

impl CompiledTemplate {
    /// The subject (one line, control characters replaced) and the body.
    pub fn render(&self, ctx: &TemplateContext) -> Result<(String, String), TemplateError> {
        let mut subject = String::new();
        render_nodes(&self.subject, ctx, None, &mut subject)?;
        let subject: String = subject.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        let mut body = String::new();
        render_nodes(&self.body, ctx, None, &mut body)?;
        Ok((subject.trim().to_string(), body))
    }
}

fn render_nodes(nodes: &[Node], ctx: &TemplateContext, event: Option<&Event>, out: &mut String) -> Result<(), TemplateError> {
    for node in nodes {
        match node {
            Node::Text(text) => out.push_str(text),
            Node::Var(name) => out.push_str(&value(ctx, name)?),
            Node::Field(field) => {
                if let Some(event) = event {
                    out.push_str(event.0.get(field).map_or("", String::as_str));
                }
            }
            Node::Events(inner) => {
                for event in &ctx.events {
                    render_nodes(inner, ctx, Some(event), out)?;
                }
            }
        }
    }
    Ok(())
}

fn value(ctx: &TemplateContext, name: &str) -> Result<String, TemplateError> {
    if let Some(v) = ctx.vars.get(name) {
        return Ok(v.clone());
    }
    match name {
        "event_count" => Ok(ctx.events.len().to_string()),
        "events_table" => Ok(events_table(&ctx.events, TABLE_COLUMNS)),
        _ => Err(TemplateError::MissingValue(name.to_string())),
    }
}

/// Line and column (1-based, in characters) of a byte offset.
fn position(src: &str, offset: usize) -> (usize, usize) {
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |p| p + 1);
    (line, before[line_start..].chars().count() + 1)
}

fn syntax(part: &'static str, src: &str, offset: usize, message: impl Into<String>) -> TemplateError {
    let (line, column) = position(src, offset);
    TemplateError::Syntax { part, message: message.into(), line, column }
}

fn known_variables() -> String {
    VARIABLES.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ")
}

fn parse(src: &str, part: &'static str, sections_allowed: bool) -> Result<Vec<Node>, TemplateError> {
    let mut top: Vec<Node> = Vec::new();
    // The open section's nodes and where it was opened.
    let mut open: Option<(Vec<Node>, usize)> = None;
    let mut text = String::new();
    let mut i = 0;
    while let Some(found) = src[i..].find("{{") {
        let at = i + found;
        text.push_str(&src[i..at]);
        if src[at..].starts_with("{{{{") {
            text.push_str("{{");
            i = at + 4;
            continue;
        }
        let inner_start = at + 2;
        let Some(len) = src[inner_start..].find("}}") else {
            return Err(syntax(part, src, at, "unterminated {{ (no closing }})"));
        };
        let end = inner_start + len + 2;
        let tag = src[inner_start..inner_start + len].trim();
        i = end;

        if let Some(rest) = tag.strip_prefix('#').or_else(|| tag.strip_prefix('/')) {
            let opening = tag.starts_with('#');
            if !sections_allowed {
                return Err(syntax(part, src, at, "sections are not allowed in the subject"));
            }
            if rest.trim() != "events" {
                return Err(syntax(
                    part,
                    src,
                    at,
                    format!("unknown section {{{{{tag}}}}}; the only section is {{{{#events}}}} … {{{{/events}}}}"),
                ));
            }
            // A section tag alone on its line takes the whole line with it.
            let line_start = src[..at].rfind('\n').map_or(0, |p| p + 1);
            let line_end = src[end..].find('\n').map_or(src.len(), |p| end + p);
            let blank = |s: &str| s.chars().all(|c| c == ' ' || c == '\t' || c == '\r');
            let before = &src[line_start..at];
            if blank(before) && blank(&src[end..line_end]) && text.ends_with(before) {
                text.truncate(text.len() - before.len());
                i = (line_end + 1).min(src.len());
            }
            let nodes = match open.as_mut() {
                Some((nodes, _)) => nodes,
                None => &mut top,
            };
            if !text.is_empty() {
                nodes.push(Node::Text(std::mem::take(&mut text)));
            }
            if opening {
                if let Some((_, opened)) = &open {
                    let (line, column) = position(src, *opened);
                    return Err(syntax(
                        part,
                        src,
                        at,
                        format!("{{{{#events}}}} cannot be nested (the section opened at line {line}, column {column} is still open)"),
                    ));
                }
                open = Some((Vec::new(), at));
            } else {
                match open.take() {
                    Some((inner, _)) => top.push(Node::Events(inner)),
                    None => return Err(syntax(part, src, at, "{{/events}} without an open {{#events}}")),
                }
            }
            continue;
        }

        let name = tag;
        if name.is_empty() {
            return Err(syntax(part, src, at, "empty name in {{ }}"));
        }
        if let Some(bad) = name.chars().find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
            return Err(syntax(
                part,
                src,
                at,
                format!("invalid character {bad:?} in {{{{ {name} }}}}; names may contain only A-Z, a-z, 0-9, '.', '_' and '-'"),
            ));
        }
        let node = if let Some(field) = name.strip_prefix("event.") {
            if field.is_empty() {
                return Err(syntax(part, src, at, "missing field name after \"event.\""));
            }
            if open.is_none() {
                return Err(syntax(part, src, at, format!("{{{{ {name} }}}} is only allowed inside {{{{#events}}}} … {{{{/events}}}}")));
            }
            Node::Field(field.to_string())
        } else if let Some(&(known, _)) = VARIABLES.iter().find(|(v, _)| *v == name) {
            Node::Var(known)
        } else {
            let (line, column) = position(src, at);
            return Err(TemplateError::UnknownVariable { part, name: name.to_string(), line, column, known: known_variables() });
        };
        let nodes = match open.as_mut() {
            Some((nodes, _)) => nodes,
            None => &mut top,
        };
        if !text.is_empty() {
            nodes.push(Node::Text(std::mem::take(&mut text)));
        }
        nodes.push(node);
    }
    text.push_str(&src[i..]);
    if let Some((_, opened)) = open {
        return Err(syntax(part, src, opened, "{{#events}} is never closed with {{/events}}"));
    }
    if !text.is_empty() {
        top.push(Node::Text(text));
    }
    Ok(top)
}

/// Every field name that occurs in the events, in the order first seen.
pub fn field_names(events: &[Event]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for event in events {
        for name in event.0.keys() {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    names
}

/// The events as a fixed-width text table, for plain-text mail. Columns that no event has
/// a value for are left out; with no columns given, every field is a column.
pub fn events_table(events: &[Event], columns: &[&str]) -> String {
    let all = if columns.is_empty() { field_names(events) } else { columns.iter().map(|c| c.to_string()).collect() };
    let names: Vec<&str> = all.iter().map(String::as_str).filter(|n| events.iter().any(|e| e.get(n).is_some())).collect();
    if names.is_empty() {
        return String::new();
    }
    let rows: Vec<Vec<String>> = events.iter().map(|e| names.iter().map(|n| one_line(e.get(n).unwrap_or(""))).collect()).collect();
    let mut widths: Vec<usize> = names.iter().map(|n| display_width(n)).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(display_width(cell));
        }
    }
    let mut out = String::new();
    push_row(&mut out, &names, &widths);
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    push_row(&mut out, &rule, &widths);
    for row in &rows {
        push_row(&mut out, row, &widths);
    }
    out
}

fn push_row<S: AsRef<str>>(out: &mut String, cells: &[S], widths: &[usize]) {
    let mut line = String::new();
    for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
        if i > 0 {
            line.push_str("  ");
        }
        let cell = cell.as_ref();
        line.push_str(cell);
        line.push_str(&" ".repeat(width.saturating_sub(display_width(cell))));
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// Width in a monospaced font: East Asian wide characters take two columns.
fn display_width(s: &str) -> usize {
    s.chars().map(|c| if is_wide(c) { 2 } else { 1 }).sum()
}

fn is_wide(c: char) -> bool {
    matches!(
        c as u32,
        0x1100..=0x115F
            | 0x2E80..=0x303E
            | 0x3041..=0x33FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xA000..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x20000..=0x3FFFD
    )
}

/// Reads a template file: a `Subject: …` line, a blank line, then the body.
pub fn parse_template_file(text: &str) -> Result<Template, TemplateError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (first, rest) = text.split_once('\n').ok_or(TemplateError::FileFormat)?;
    let subject = first.trim_end_matches('\r').strip_prefix("Subject:").ok_or(TemplateError::FileFormat)?.trim();
    let body = rest.strip_prefix("\r\n").or_else(|| rest.strip_prefix('\n')).ok_or(TemplateError::FileFormat)?;
    Ok(Template { subject: subject.to_string(), body: body.to_string() })
}

/// The template Rampart ships for a kind of notification in a language.
pub fn default_template(kind: &str, language: &str) -> Option<Template> {
    let text = match (kind, language) {
        ("feed_events", "en") => include_str!("../data/templates/feed_events.en.txt"),
        ("feed_events", "zh-TW") => include_str!("../data/templates/feed_events.zh-TW.txt"),
        ("incident", "en") => include_str!("../data/templates/incident.en.txt"),
        ("incident", "zh-TW") => include_str!("../data/templates/incident.zh-TW.txt"),
        _ => return None,
    };
    parse_template_file(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(pairs: &[(&str, &str)]) -> Event {
        pairs.iter().copied().collect()
    }

    fn events() -> Vec<Event> {
        vec![
            ev(&[
                ("time.source", "2026-03-01T10:00:00+00:00"),
                ("source.ip", "192.0.2.10"),
                ("source.port", "3389"),
                ("classification.type", "vulnerable-service"),
                ("protocol.application", "rdp"),
            ]),
            ev(&[("time.source", "2026-03-01T11:30:00+00:00"), ("source.ip", "192.0.2.11"), ("classification.type", "vulnerable-service")]),
        ]
    }

    fn full_context() -> TemplateContext {
        let mut ctx = TemplateContext { events: events(), ..Default::default() };
        ctx.set("org_name", "Example Hospital 範例醫院")
            .set("recipient_email", "soc@hospital.example.tw")
            .set("cert_name", "Example CERT")
            .set("cert_email", "cert@cert.example.tw")
            .set("reference", "NTF-2026-000042")
            .set("classification_type", "vulnerable-service")
            .set("feed_name", "Shadowserver Accessible RDP")
            .set("period_start", "2026-03-01 10:00 UTC")
            .set("period_end", "2026-03-01 11:30 UTC")
            .set("language", "en");
        ctx
    }

    fn body(text: &str) -> Template {
        Template { subject: "s".into(), body: text.into() }
    }

    fn error(text: &str) -> String {
        compile(&body(text)).unwrap_err().to_string()
    }

    #[test]
    fn every_default_template_compiles_and_renders() {
        for kind in KINDS {
            for language in LANGUAGES {
                let t = default_template(kind, language).unwrap_or_else(|| panic!("no default template {kind}.{language}"));
                let compiled = compile(&t).unwrap_or_else(|e| panic!("{kind}.{language}: {e}"));
                let (subject, text) = compiled.render(&full_context()).unwrap_or_else(|e| panic!("{kind}.{language}: {e}"));
                assert!(subject.contains("NTF-2026-000042"), "{kind}.{language}: {subject}");
                assert!(!subject.contains('\n') && !subject.is_empty());
                assert!(text.contains("NTF-2026-000042") && text.contains("192.0.2.10"), "{kind}.{language}:\n{text}");
                assert!(text.contains("cert@cert.example.tw"), "{kind}.{language}:\n{text}");
                assert!(!text.contains("{{") && !text.contains("}}"), "{kind}.{language}:\n{text}");
            }
        }
        assert!(default_template("feed_events", "fr").is_none());
        assert!(default_template("nope", "en").is_none());
    }

    #[test]
    fn variables_sections_and_literal_braces() {
        let t = Template {
            subject: "[{{ reference }}] {{event_count}} events for {{ org_name }}".into(),
            body: "Dear {{ org_name }},\nEvents:\n{{#events}}\n- {{ event.source.ip }}:{{ event.source.port }} ({{ reference }})\n  {{/events}}\nUse {{{{ like this }}.\n"
                .into(),
        };
        let (subject, text) = compile(&t).unwrap().render(&full_context()).unwrap();
        assert_eq!(subject, "[NTF-2026-000042] 2 events for Example Hospital 範例醫院");
        assert_eq!(
            text,
            "Dear Example Hospital 範例醫院,\nEvents:\n- 192.0.2.10:3389 (NTF-2026-000042)\n- 192.0.2.11: (NTF-2026-000042)\nUse {{ like this }}.\n"
        );
        // An inline section stays inline; no events render nothing.
        let t = body("ips:{{#events}} {{event.source.ip}}{{/events}}.");
        let compiled = compile(&t).unwrap();
        assert_eq!(compiled.render(&full_context()).unwrap().1, "ips: 192.0.2.10 192.0.2.11.");
        let mut empty = full_context();
        empty.events.clear();
        assert_eq!(compiled.render(&empty).unwrap().1, "ips:.");
    }

    #[test]
    fn mistakes_are_reported_with_line_and_column() {
        let e = error("Hello\n\n  {{ orgname }}");
        assert!(e.starts_with("body: unknown variable {{ orgname }} at line 3, column 3; known: org_name, recipient_email"), "{e}");
        assert!(error("a {{ event.source.ip }}").contains("only allowed inside {{#events}}"));
        assert!(error("x\n{{#events}}\nno end").contains("never closed with {{/events}} at line 2, column 1"));
        assert!(error("{{/events}}").contains("without an open {{#events}} at line 1, column 1"));
        assert!(error("{{#events}}{{#events}}{{/events}}{{/events}}").contains("cannot be nested"));
        assert!(error("ab {{ org_name").contains("unterminated {{ (no closing }}) at line 1, column 4"));
        assert!(error("{{ }}").contains("empty name"));
        assert!(error("{{#events}}{{ event.source ip }}{{/events}}").contains("invalid character ' '"));
        assert!(error("{{#events}}{{ event. }}{{/events}}").contains("missing field name"));
        assert!(error("{{#incidents}}{{/incidents}}").contains("unknown section"));
        // Column counts characters, not bytes.
        assert!(error("親愛的 {{ x }}").contains("line 1, column 5"), "{}", error("親愛的 {{ x }}"));

        let bad_subject = Template { subject: "{{#events}}x{{/events}}".into(), body: String::new() };
        assert!(compile(&bad_subject).unwrap_err().to_string().contains("sections are not allowed in the subject"));
        let two_lines = Template { subject: "a\nb".into(), body: String::new() };
        assert!(compile(&two_lines).unwrap_err().to_string().contains("single line"));
    }

    #[test]
    fn missing_values_are_named_and_derived_ones_filled_in() {
        let compiled = compile(&body("{{ cert_name }}")).unwrap();
        let err = compiled.render(&TemplateContext::default()).unwrap_err();
        assert_eq!(err, TemplateError::MissingValue("cert_name".into()));
        let compiled = compile(&body("{{ event_count }}\n{{ events_table }}")).unwrap();
        let ctx = TemplateContext { events: events(), ..Default::default() };
        let (_, text) = compiled.render(&ctx).unwrap();
        assert!(text.starts_with("2\ntime.source"), "{text}");
    }

    #[test]
    fn the_events_table_is_aligned() {
        let table = events_table(&events(), &["source.ip", "source.port", "protocol.application", "source.fqdn"]);
        assert_eq!(
            table,
            "source.ip   source.port  protocol.application\n\
             ----------  -----------  --------------------\n\
             192.0.2.10  3389         rdp\n\
             192.0.2.11\n"
        );
        let wide = vec![ev(&[("a", "中文"), ("b", "x")]), ev(&[("a", "abcde"), ("b", "y")])];
        assert_eq!(events_table(&wide, &[]), "a      b\n-----  -\n中文   x\nabcde  y\n");
        assert_eq!(events_table(&[], &["source.ip"]), "");
    }

    #[test]
    fn template_files_need_a_subject_line() {
        let t = parse_template_file("Subject: Hi {{ org_name }}\r\n\r\nBody\n").unwrap();
        assert_eq!(t, Template { subject: "Hi {{ org_name }}".into(), body: "Body\n".into() });
        assert_eq!(parse_template_file("Hello\n\nBody"), Err(TemplateError::FileFormat));
        assert_eq!(parse_template_file("Subject: x\nBody"), Err(TemplateError::FileFormat));
    }

    proptest::proptest! {
        #[test]
        fn compiling_and_rendering_never_panic(subject in "[{}#/ a-z._\\n-]{0,30}", text in "[{}#/ a-z._\\n中-]{0,80}") {
            let t = Template { subject, body: text };
            if let Ok(compiled) = compile(&t) {
                let _ = compiled.render(&full_context());
            }
        }
    }
}
