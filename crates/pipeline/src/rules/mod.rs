//! Rules: what IntelMQ's sieve expert does, with a real grammar. A rule file is compiled
//! once into a [`RuleSet`] (field names interned, regular expressions compiled, value
//! and CIDR lists sorted for binary search) and then applied to each event, which it may
//! change (`set`, `remove`), drop, route to named outputs, or mark for a notification
//! or an incident.
//!
//! ```text
//! # Comments start with #.
//! if :exists source.ip and source.ip << 10.0.0.0/8 { drop }
//! if classification.type == "vulnerable-system" and feed.name =~ "^DNS" {
//!     set extra.priority = 2
//!     notify
//!     keep
//! }
//! elif source.port in [23, 2323] and not :exists extra.tag { route "telnet" }
//! else { remove raw }
//! ```
//!
//! The language is described in `docs/rules.md`. Errors name the line and the 1-based
//! column (in characters) of the offending token: `line 3, column 14: expected a value
//! after '==', found '{'`.

mod eval;
mod lexer;
mod parser;

use crate::event::Event;

/// A rule file that does not compile: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct RuleError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters (a tab is one).
    pub column: usize,
    pub message: String,
}

/// What the rules asked for one event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// `drop` ran: the event goes to no output (`outputs` is then empty).
    pub dropped: bool,
    /// The outputs named by `route`, in order, each once.
    pub outputs: Vec<String>,
    /// `notify` ran: make a notification directive for the event's constituent.
    pub notify: bool,
    /// The title of the last `incident` that ran: open an incident for the event.
    pub incident: Option<String>,
}

/// Compiled rules. Cheap to share between threads; applying them never fails.
#[derive(Debug, Clone)]
pub struct RuleSet {
    stmts: Vec<eval::Stmt>,
}

/// Compiles rule source text.
pub fn compile(source: &str) -> Result<RuleSet, RuleError> {
    Ok(RuleSet { stmts: parser::parse(source)? })
}

impl RuleSet {
    /// Runs the rules against `event`, changing it where `set` and `remove` say, and
    /// returns what they asked for. Conditions read the event in place: when no action
    /// runs (or only `drop`, `keep`, `stop`, `notify` and `remove`), nothing is allocated.
    pub fn apply(&self, event: &mut Event<'_>) -> Outcome {
        let mut outcome = Outcome::default();
        eval::execute(&self.stmts, event, &mut outcome);
        outcome
    }

    /// Whether the rule file had no statements (comments and blank lines only).
    pub fn is_empty(&self) -> bool {
        self.stmts.is_empty()
    }
}

impl std::str::FromStr for RuleSet {
    type Err = RuleError;

    fn from_str(source: &str) -> Result<RuleSet, RuleError> {
        compile(source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{FieldId, Kind};
    use proptest::prelude::*;

    fn event(fields: &[(&str, &str)]) -> Event<'static> {
        let mut e = Event::new();
        for (name, value) in fields {
            e.set(FieldId::intern(name).unwrap(), value.to_string());
        }
        e
    }

    fn rules(src: &str) -> RuleSet {
        compile(src).unwrap_or_else(|e| panic!("{src:?}: {e}"))
    }

    fn run(src: &str, fields: &[(&str, &str)]) -> (Outcome, Event<'static>) {
        let set = rules(src);
        let mut e = event(fields);
        let outcome = set.apply(&mut e);
        (outcome, e)
    }

    /// Whether `cond` holds for an event with `fields`.
    fn holds(cond: &str, fields: &[(&str, &str)]) -> bool {
        let (outcome, _) = run(&format!("if {cond} {{ route \"hit\" }}"), fields);
        outcome.outputs == ["hit"]
    }

    fn get(e: &Event<'_>, name: &str) -> Option<String> {
        e.get(FieldId::intern(name).unwrap()).map(str::to_string)
    }

    #[test]
    fn equality() {
        assert!(holds("feed.name == \"x\"", &[("feed.name", "x")]));
        assert!(!holds("feed.name == \"x\"", &[("feed.name", "X")]));
        assert!(!holds("feed.name == \"x\"", &[]));
        assert!(holds("source.port == 23", &[("source.port", "23")]));
        assert!(holds("source.port == 23", &[("source.port", "23.0")]));
        assert!(!holds("source.port == 23", &[("source.port", "24")]));
        assert!(!holds("source.port == \"23\"", &[("source.port", "23.0")]));
        assert!(holds("source.ip == 2001:db8::1", &[("source.ip", "2001:DB8:0::1")]));
        assert!(holds("source.network == 10.0.0.0/8", &[("source.network", "10.0.0.0/8")]));
        assert!(holds("extra.flag == true", &[("extra.flag", "true")]));
        assert!(holds("time.source == 2026-01-01T00:00:00Z", &[("time.source", "2026-01-01T00:00:00Z")]));
        assert!(holds("feed.name == \"a\\\"b\"", &[("feed.name", "a\"b")]));
    }

    #[test]
    fn inequality_needs_the_field() {
        assert!(holds("feed.name != \"x\"", &[("feed.name", "y")]));
        assert!(!holds("feed.name != \"x\"", &[("feed.name", "x")]));
        assert!(!holds("feed.name != \"x\"", &[]));
        assert!(holds("not feed.name == \"x\"", &[]));
    }

    #[test]
    fn regular_expressions() {
        assert!(holds("feed.name =~ \"^DNS\"", &[("feed.name", "DNS-open-resolvers")]));
        assert!(!holds("feed.name =~ \"^DNS\"", &[("feed.name", "open-DNS")]));
        assert!(holds("feed.name !~ \"^DNS\"", &[("feed.name", "open-DNS")]));
        assert!(!holds("feed.name !~ \"^DNS\"", &[]));
        assert!(holds("source.fqdn =~ \"\\.example\\.org$\"", &[("source.fqdn", "www.example.org")]));
        assert!(!holds("source.fqdn =~ \"\\.example\\.org$\"", &[("source.fqdn", "www-example.org")]));
        // Case-insensitive and class escapes work (on ASCII if the regex crate lacks Unicode tables).
        assert!(holds("feed.name =~ \"(?i)^dns\\d\"", &[("feed.name", "DNS1")]));
        assert!(holds("feed.name =~ \"ü\"", &[("feed.name", "Grüße")]));
    }

    #[test]
    fn membership() {
        assert!(holds("source.port in [23, 2323]", &[("source.port", "2323")]));
        assert!(!holds("source.port in [23, 2323]", &[("source.port", "80")]));
        assert!(holds("classification.type in [\"ddos\", \"scanner\"]", &[("classification.type", "scanner")]));
        assert!(holds("source.port not in [23, 2323]", &[("source.port", "80")]));
        assert!(!holds("source.port not in [23, 2323]", &[("source.port", "23")]));
        assert!(!holds("source.port not in [23, 2323]", &[]));
        assert!(!holds("source.port in []", &[("source.port", "23")]));
        assert!(holds("source.ip in [192.0.2.1, \"x\", 7, true]", &[("source.ip", "192.0.2.1")]));
    }

    #[test]
    fn ordering_numbers_and_times() {
        let asn = "source.asn >= 64512 and source.asn <= 65534";
        assert!(holds(asn, &[("source.asn", "64512")]));
        assert!(holds(asn, &[("source.asn", "65000")]));
        assert!(!holds(asn, &[("source.asn", "65535")]));
        assert!(!holds(asn, &[("source.asn", "AS64512")]));
        assert!(!holds(asn, &[]));
        assert!(holds("feed.accuracy < 50.5", &[("feed.accuracy", "50")]));
        assert!(holds("feed.accuracy > -1", &[("feed.accuracy", "0")]));
        assert!(holds("source.port < \"1024\"", &[("source.port", "80")]));
        // Numbers compare as numbers, not text.
        assert!(holds("source.port > 9", &[("source.port", "10")]));

        let before = "time.source < \"2026-01-01T00:00:00Z\"";
        assert!(holds(before, &[("time.source", "2025-12-31T23:59:59+00:00")]));
        assert!(holds(before, &[("time.source", "2026-01-01T01:00:00+02:00")]));
        assert!(!holds(before, &[("time.source", "2026-01-01T00:00:00+00:00")]));
        assert!(!holds(before, &[("time.source", "yesterday")]));
        assert!(holds("time.source >= 2026-01-01", &[("time.source", "2026-01-01 00:00:00Z")]));
        assert!(!holds("time.source > 2026-01-01T00:00:00Z", &[("time.source", "2025-06-01")]));
    }

    #[test]
    fn cidr_membership() {
        assert!(holds("source.ip << 10.0.0.0/8", &[("source.ip", "10.1.2.3")]));
        assert!(!holds("source.ip << 10.0.0.0/8", &[("source.ip", "11.0.0.1")]));
        assert!(!holds("source.ip << 10.0.0.0/8", &[("source.ip", "::ffff:1.2.3.4")]));
        assert!(!holds("source.ip << 10.0.0.0/8", &[("source.ip", "no address")]));
        assert!(!holds("source.ip << 10.0.0.0/8", &[]));
        let private = "source.ip << [192.168.0.0/16, \"172.16.0.0/12\", 10.0.0.0/8, fc00::/7]";
        assert!(holds(private, &[("source.ip", "172.31.255.255")]));
        assert!(holds(private, &[("source.ip", "fd12::1")]));
        assert!(!holds(private, &[("source.ip", "172.32.0.0")]));
        assert!(holds("source.ip << 192.0.2.1", &[("source.ip", "192.0.2.1")]));
        assert!(holds("source.network << 10.0.0.0/8", &[("source.network", "10.1.0.0/16")]));
        assert!(!holds("source.network << 10.0.0.0/8", &[("source.network", "10.0.0.0/7")]));
        assert!(holds("source.ip << [10.0.0.0/9, 10.128.0.0/9]", &[("source.ip", "10.200.0.1")]));
    }

    #[test]
    fn existence() {
        assert!(holds(":exists source.ip", &[("source.ip", "")]));
        assert!(!holds(":exists source.ip", &[]));
        assert!(holds(":notexists source.ip", &[("feed.name", "x")]));
        assert!(!holds(":notexists source.ip", &[("source.ip", "192.0.2.1")]));
        // Unknown fields are just absent.
        assert!(holds(":notexists extra.never_seen_anywhere", &[]));
    }

    #[test]
    fn precedence_not_and_or() {
        // or binds loosest: a or (b and c).
        let c = "a == 1 or b == 1 and c == 1";
        assert!(holds(c, &[("a", "1")]));
        assert!(!holds(c, &[("b", "1")]));
        assert!(holds(c, &[("b", "1"), ("c", "1")]));
        // not binds tightest: (not a) and b.
        let c = "not a == 1 and b == 1";
        assert!(!holds(c, &[("a", "1"), ("b", "1")]));
        assert!(holds(c, &[("a", "2"), ("b", "1")]));
        assert!(!holds(c, &[("a", "2")]));
        // Parentheses override.
        let c = "(a == 1 or b == 1) and c == 1";
        assert!(!holds(c, &[("a", "1")]));
        assert!(holds(c, &[("a", "1"), ("c", "1")]));
        let c = "not (a == 1 or b == 1)";
        assert!(holds(c, &[]));
        assert!(!holds(c, &[("b", "1")]));
        assert!(holds("not not a == 1", &[("a", "1")]));
    }

    #[test]
    fn drop_keep_and_stop_end_processing() {
        let (o, _) = run("route \"a\"\ndrop\nroute \"b\"", &[]);
        assert_eq!(o, Outcome { dropped: true, ..Outcome::default() });
        let (o, _) = run("notify\nincident \"x\"\ndrop", &[]);
        assert!(o.dropped && o.notify && o.incident.as_deref() == Some("x"));
        let (o, _) = run("route \"a\"; keep; drop", &[]);
        assert_eq!(o, Outcome { outputs: vec!["a".to_string()], ..Outcome::default() });
        let (o, _) = run("if a == 1 { if b == 1 { stop }; route \"inner\" }\nroute \"after\"", &[("a", "1"), ("b", "1")]);
        assert_eq!(o, Outcome::default());
        let (o, _) = run("if a == 1 { if b == 1 { stop }; route \"inner\" }\nroute \"after\"", &[("a", "1")]);
        assert_eq!(o.outputs, ["inner", "after"]);
    }

    #[test]
    fn set_and_remove() {
        let (_, e) = run(
            "set extra.priority = 2; set extra.score = 1.5; set extra.flag = false; set extra.tag = \"x\"; remove raw",
            &[("raw", "...")],
        );
        let kind = |name: &str| e.get_value(FieldId::intern(name).unwrap()).map(|v| v.kind);
        assert_eq!(kind("extra.priority"), Some(Kind::Integer));
        assert_eq!(get(&e, "extra.priority").as_deref(), Some("2"));
        assert_eq!(kind("extra.score"), Some(Kind::Float));
        assert_eq!(kind("extra.flag"), Some(Kind::Boolean));
        assert_eq!(get(&e, "extra.flag").as_deref(), Some("false"));
        assert_eq!((kind("extra.tag"), get(&e, "extra.tag").as_deref()), (Some(Kind::Text), Some("x")));
        assert_eq!(get(&e, "raw"), None);
        let (_, e) = run("set source.ip = 2001:DB8::1\nset source.network = 10.0.0.0/8\nset feed.name = \"new\"", &[("feed.name", "old")]);
        assert_eq!(get(&e, "source.ip").as_deref(), Some("2001:db8::1"));
        assert_eq!(get(&e, "source.network").as_deref(), Some("10.0.0.0/8"));
        assert_eq!(get(&e, "feed.name").as_deref(), Some("new"));
        assert_eq!(e.len(), 3);
        // Later conditions see earlier changes; removing an absent field is fine.
        let (o, _) = run("remove nothing.here\nset extra.tag = \"t\"\nif extra.tag == \"t\" { route \"seen\" }", &[]);
        assert_eq!(o.outputs, ["seen"]);
    }

    #[test]
    fn route_notify_incident() {
        let (o, _) = run("route \"a\"\nroute \"b\"\nroute \"a\"\nnotify\nincident \"first\"\nincident \"Private ASN seen in feed\"", &[]);
        assert_eq!(
            o,
            Outcome {
                dropped: false,
                outputs: vec!["a".into(), "b".into()],
                notify: true,
                incident: Some("Private ASN seen in feed".into())
            }
        );
        let (o, _) = run("# nothing\n\n", &[("a", "1")]);
        assert_eq!(o, Outcome::default());
        assert!(rules("# nothing").is_empty());
    }

    #[test]
    fn if_elif_else_and_nesting() {
        let src = "
            if kind == \"a\" { route \"A\" }
            elif kind == \"b\" {
                if sub == \"1\" { route \"B1\" } else { route \"B\" }
            }
            elif kind == \"c\" { route \"C\" } else if kind == \"d\" { route \"D\" }
            else { route \"other\" }
            route \"always\"
        ";
        let outputs = |fields: &[(&str, &str)]| run(src, fields).0.outputs;
        assert_eq!(outputs(&[("kind", "a")]), ["A", "always"]);
        assert_eq!(outputs(&[("kind", "b"), ("sub", "1")]), ["B1", "always"]);
        assert_eq!(outputs(&[("kind", "b")]), ["B", "always"]);
        assert_eq!(outputs(&[("kind", "c")]), ["C", "always"]);
        assert_eq!(outputs(&[("kind", "d")]), ["D", "always"]);
        assert_eq!(outputs(&[("kind", "e")]), ["other", "always"]);
        assert_eq!(outputs(&[]), ["other", "always"]);
    }

    const EXAMPLE: &str = r#"
# Comments start with #.
if :exists source.ip and source.ip << 10.0.0.0/8 { drop }
if classification.type == "vulnerable-system" and feed.name =~ "^DNS" {
    set extra.priority = 2
    notify                          # make a notification directive for the routed constituent
    keep
}
elif source.port in [23, 2323] and not :exists extra.tag { route "telnet" }
else { remove raw }
if time.source < "2026-01-01T00:00:00Z" { drop }
if source.asn >= 64512 and source.asn <= 65534 { incident "Private ASN seen in feed" }
"#;

    #[test]
    fn the_example_from_the_documentation() {
        let set = rules(EXAMPLE);
        let apply = |fields: &[(&str, &str)]| {
            let mut e = event(fields);
            let outcome = set.apply(&mut e);
            (outcome, e)
        };
        let (o, _) = apply(&[("source.ip", "10.9.8.7")]);
        assert!(o.dropped);
        let (o, e) =
            apply(&[("source.ip", "192.0.2.1"), ("classification.type", "vulnerable-system"), ("feed.name", "DNS-open-resolvers")]);
        assert_eq!(o, Outcome { notify: true, ..Outcome::default() });
        assert_eq!(get(&e, "extra.priority").as_deref(), Some("2"));
        let (o, _) = apply(&[("source.port", "2323"), ("time.source", "2026-02-01T00:00:00Z")]);
        assert_eq!(o.outputs, ["telnet"]);
        let (o, _) = apply(&[("source.port", "2323"), ("extra.tag", "x"), ("time.source", "2025-02-01T00:00:00Z")]);
        assert!(o.dropped);
        let (o, e) = apply(&[("raw", "abc"), ("source.asn", "64600")]);
        assert_eq!(o.incident.as_deref(), Some("Private ASN seen in feed"));
        assert_eq!(get(&e, "raw"), None);
    }

    #[test]
    fn the_examples_in_docs_rules_md_compile() {
        let doc = include_str!("../../../../docs/rules.md");
        let mut examples = Vec::new();
        // Inside a fenced block: whether it holds rules (a bare ``` fence) and its text so far.
        let mut block: Option<(bool, String)> = None;
        for line in doc.lines() {
            let fence = line.trim_end();
            block = match block {
                None if fence.starts_with("```") => Some((fence == "```", String::new())),
                None => None,
                Some((is_rules, text)) if fence == "```" => {
                    if is_rules {
                        examples.push(text);
                    }
                    None
                }
                Some((is_rules, mut text)) => {
                    text.push_str(line);
                    text.push('\n');
                    Some((is_rules, text))
                }
            };
        }
        assert!(examples.len() >= 6, "{} examples", examples.len());
        for example in &examples {
            if let Err(e) = compile(example) {
                panic!("{example}\n{e}");
            }
        }
    }

    #[test]
    fn rule_sets_parse_from_str_and_are_shareable() {
        fn shareable<T: Send + Sync>(_: &T) {}
        let set: RuleSet = "drop".parse().unwrap();
        shareable(&set);
        assert!("dorp".parse::<RuleSet>().is_err());
    }

    /// Rules that use every condition and action, for the never-panics property.
    const EVERYTHING: &str = r#"
if :exists source.ip and source.ip << [10.0.0.0/8, 2001:db8::/32] { set extra.private = true }
if source.ip == 192.0.2.1 or source.network == 10.0.0.0/8 or source.port == 23 or extra.flag == true { route "eq" }
if feed.name != "x" and feed.name =~ "^(?i)dns" and feed.name !~ "x$" { notify }
if source.port in [23, 2323, "x", 1.5, ::1] or source.port not in [80] { route "in" }
if source.asn >= 64512 and source.asn <= 65534.5 and source.asn < 1e9 and source.asn > -1 { incident "asn" }
if time.source < "2026-01-01T00:00:00Z" or time.source >= 2020-01-01 { set extra.old = 1 }
if not (:notexists raw or raw == "") { remove raw } elif extra.x == "y" { stop } else { keep }
set feed.name = "rewritten"
if feed.name == "rewritten" { drop }
"#;

    const FIELDS: [&str; 10] = [
        "source.ip",
        "source.network",
        "source.port",
        "source.asn",
        "feed.name",
        "extra.flag",
        "time.source",
        "raw",
        "extra.x",
        "extra.private",
    ];

    fn field_value() -> impl Strategy<Value = String> {
        prop_oneof![
            "\\PC{0,40}",
            "[0-9a-fA-F.:/+eE -]{0,24}",
            "20[0-9]{2}-[01][0-9]-[0-3][0-9]([T ][0-2][0-9]:[0-5][0-9]:[0-6][0-9](\\.[0-9]{1,12})?(Z|[+-][0-9]{2}:[0-9]{2}))?",
        ]
    }

    fn token_soup() -> impl Strategy<Value = String> {
        // Tokens, right and wrong, separated by '|'.
        const WORDS: &str = "if|elif|else|and|or|not|in|{|}|(|)|[|]|,|;|\n|==|!=|=~|!~|<|<=|>|>=|<<|=|\
            drop|keep|set|remove|route|notify|incident|stop|:exists|:notexists|source.ip|extra.x|\
            \"a\"|\"(\"|\"\\u{zz}\"|10.0.0.0/8|10.0.0.1/8|2001:db8::/32|23|-1.5|1e999|true|2026-01-01|#c\n|\"|\\|!|é|&";
        let words = prop::sample::select(WORDS.split('|').collect::<Vec<_>>());
        prop::collection::vec(words, 0..60).prop_map(|words| words.join(" "))
    }

    proptest! {
        #[test]
        fn compile_never_panics_on_arbitrary_text(src in "\\PC{0,200}") {
            let _ = compile(&src);
        }

        #[test]
        fn compile_never_panics_on_token_soup(src in token_soup()) {
            if let Err(e) = compile(&src) {
                prop_assert!(e.line >= 1 && e.column >= 1);
                prop_assert!(e.line <= src.lines().count().max(1) + 1);
            }
        }

        #[test]
        fn apply_never_panics_on_arbitrary_values(values in prop::collection::vec((field_value(), 0usize..5), 0..12)) {
            let set = rules(EVERYTHING);
            let kinds = [Kind::Text, Kind::Integer, Kind::Float, Kind::Boolean, Kind::Json];
            let mut e = Event::new();
            for (i, (text, kind)) in values.into_iter().enumerate() {
                e.set_kind(FieldId::of(FIELDS[i % FIELDS.len()]), kinds[kind], text);
            }
            let outcome = set.apply(&mut e);
            prop_assert!(outcome.outputs.is_empty() || !outcome.dropped);
        }
    }
}
