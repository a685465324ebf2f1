//! Deadline clocks: legal reporting obligations (Taiwan, NIS2) and internal service
//! levels, computed from an incident's own milestones. Regimes are data
//! (`data/deadline_regimes.toml`), so a new regulation is a new table, not new code.

use crate::incident::{Severity, TwLevel};
use chrono::{DateTime, Duration, Months, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::OnceLock;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regime {
    pub code: String,
    /// A legal obligation (as opposed to an internal service level).
    pub legal: bool,
    pub applies_when: AppliesWhen,
    pub en: String,
    pub zh_tw: String,
    pub obligation: Vec<Obligation>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppliesWhen {
    TwLevel,
    Nis2Significant,
    Always,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Obligation {
    pub code: String,
    pub en: String,
    pub zh_tw: String,
    /// The milestone the clock starts at.
    pub from: String,
    /// The milestone that meets the obligation.
    pub met_by: String,
    pub within: Within,
    #[serde(default)]
    pub levels: Vec<u8>,
    #[serde(default)]
    pub severities: Vec<Severity>,
}

/// A period: hours, minutes, days or calendar months.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Within {
    Minutes(i64),
    Hours(i64),
    Days(i64),
    Months(u32),
}

impl TryFrom<String> for Within {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
        let n: i64 = digits.parse().map_err(|_| format!("period {s:?} must start with a number"))?;
        match &s[digits.len()..] {
            "min" => Ok(Within::Minutes(n)),
            "h" => Ok(Within::Hours(n)),
            "d" => Ok(Within::Days(n)),
            "mo" => Ok(Within::Months(u32::try_from(n).map_err(|e| e.to_string())?)),
            unit => Err(format!("unknown unit {unit:?} in {s:?} (use min, h, d or mo)")),
        }
    }
}

impl From<Within> for String {
    fn from(w: Within) -> String {
        match w {
            Within::Minutes(n) => format!("{n}min"),
            Within::Hours(n) => format!("{n}h"),
            Within::Days(n) => format!("{n}d"),
            Within::Months(n) => format!("{n}mo"),
        }
    }
}

impl Within {
    pub fn after(self, start: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Within::Minutes(n) => start + Duration::minutes(n),
            Within::Hours(n) => start + Duration::hours(n),
            Within::Days(n) => start + Duration::days(n),
            Within::Months(n) => start.checked_add_months(Months::new(n)).unwrap_or(start),
        }
    }
}

#[derive(Deserialize)]
struct RegimeFile {
    regime: Vec<Regime>,
}

pub fn parse_regimes(toml_text: &str) -> Result<Vec<Regime>, String> {
    let file: RegimeFile = toml::from_str(toml_text).map_err(|e| e.to_string())?;
    for regime in &file.regime {
        for o in &regime.obligation {
            if o.levels.iter().any(|l| TwLevel::new(*l).is_none()) {
                return Err(format!("{}/{}: levels must be 1 to 4", regime.code, o.code));
            }
        }
    }
    Ok(file.regime)
}

static CONFIGURED: OnceLock<Vec<Regime>> = OnceLock::new();

/// Replaces the shipped regimes for this process (from the operator's own file, read
/// at start). Returns `false` if regimes were set already.
pub fn configure(regimes: Vec<Regime>) -> bool {
    CONFIGURED.set(regimes).is_ok()
}

/// The regimes in force: the operator's, if configured, else the shipped ones.
pub fn regimes() -> &'static [Regime] {
    CONFIGURED.get().map(Vec::as_slice).unwrap_or_else(shipped_regimes)
}

/// The regimes Rampart ships with.
pub fn shipped_regimes() -> &'static [Regime] {
    static REGIMES: OnceLock<Vec<Regime>> = OnceLock::new();
    REGIMES.get_or_init(|| {
        parse_regimes(include_str!("../data/deadline_regimes.toml")).expect("data/deadline_regimes.toml is checked by the tests")
    })
}

/// What the clocks are computed from.
#[derive(Debug, Clone, Default)]
pub struct ClockInput {
    pub tw_level: Option<TwLevel>,
    pub nis2_significant: bool,
    pub severity: Option<Severity>,
    /// Milestones by name: `created`, `aware`, `reported`, `recovered`, …
    pub milestones: BTreeMap<String, DateTime<Utc>>,
}

crate::wire_enum! {
    /// `pending`: the clock has not started, its starting milestone is not recorded yet.
    DeadlineState, "deadline state" {
        Pending => "pending",
        Due => "due",
        Met => "met",
        MetLate => "met_late",
        Overdue => "overdue",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Deadline {
    pub regime: String,
    pub obligation: String,
    pub legal: bool,
    pub due_at: Option<DateTime<Utc>>,
    pub met_at: Option<DateTime<Utc>>,
    pub state: DeadlineState,
}

/// Every clock that applies to an incident, in regime order.
pub fn compute(regimes: &[Regime], input: &ClockInput, now: DateTime<Utc>) -> Vec<Deadline> {
    let mut out = Vec::new();
    for regime in regimes {
        let applies = match regime.applies_when {
            AppliesWhen::TwLevel => input.tw_level.is_some(),
            AppliesWhen::Nis2Significant => input.nis2_significant,
            AppliesWhen::Always => true,
        };
        if !applies {
            continue;
        }
        for o in &regime.obligation {
            let level_ok = o.levels.is_empty() || input.tw_level.is_some_and(|l| o.levels.contains(&l.get()));
            let severity_ok = o.severities.is_empty() || input.severity.is_some_and(|s| o.severities.contains(&s));
            if !level_ok || !severity_ok {
                continue;
            }
            let due_at = input.milestones.get(&o.from).map(|start| o.within.after(*start));
            let met_at = input.milestones.get(&o.met_by).copied();
            let state = match (due_at, met_at) {
                (_, Some(met)) if due_at.is_none_or(|due| met <= due) => DeadlineState::Met,
                (_, Some(_)) => DeadlineState::MetLate,
                (None, None) => DeadlineState::Pending,
                (Some(due), None) if now > due => DeadlineState::Overdue,
                (Some(_), None) => DeadlineState::Due,
            };
            out.push(Deadline { regime: regime.code.clone(), obligation: o.code.clone(), legal: regime.legal, due_at, met_at, state });
        }
    }
    out
}

/// Every milestone name the regimes know, for validating input.
pub fn milestone_names(regimes: &[Regime]) -> Vec<String> {
    let mut names: Vec<String> = regimes.iter().flat_map(|r| &r.obligation).flat_map(|o| [o.from.clone(), o.met_by.clone()]).collect();
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 31, h, 0, 0).unwrap()
    }

    fn find<'a>(d: &'a [Deadline], regime: &str, obligation: &str) -> &'a Deadline {
        d.iter().find(|x| x.regime == regime && x.obligation == obligation).unwrap_or_else(|| panic!("{regime}/{obligation} in {d:?}"))
    }

    #[test]
    fn taiwan_clocks_follow_the_level() {
        let mut input = ClockInput { tw_level: TwLevel::new(2), ..Default::default() };
        input.milestones.insert("aware".into(), at(0));
        let d = compute(shipped_regimes(), &input, at(2));
        assert_eq!(find(&d, "tw", "report").due_at, Some(at(1)));
        assert_eq!(find(&d, "tw", "report").state, DeadlineState::Overdue);
        assert_eq!(find(&d, "tw", "level_review").state, DeadlineState::Pending, "starts when reported");
        assert_eq!(find(&d, "tw", "recovery").due_at, Some(at(0) + Duration::hours(72)));
        assert!(d.iter().all(|x| x.regime != "nis2"), "NIS2 only when significant");

        // Raising the level to 3 shortens the clocks.
        input.tw_level = TwLevel::new(3);
        input.milestones.insert("reported".into(), at(0) + Duration::minutes(40));
        let d = compute(shipped_regimes(), &input, at(2));
        assert_eq!(find(&d, "tw", "report").state, DeadlineState::Met);
        assert_eq!(find(&d, "tw", "level_review").due_at, Some(at(2) + Duration::minutes(40)));
        assert_eq!(find(&d, "tw", "recovery").due_at, Some(at(0) + Duration::hours(36)));
        assert_eq!(d.iter().filter(|x| x.obligation == "recovery").count(), 1, "one clock per obligation and level");
    }

    #[test]
    fn nis2_final_report_is_a_calendar_month_after_notification() {
        let mut input = ClockInput { nis2_significant: true, ..Default::default() };
        input.milestones.insert("aware".into(), at(0));
        input.milestones.insert("early_warning_sent".into(), at(23));
        input.milestones.insert("notified".into(), at(0) + Duration::hours(80));
        let d = compute(shipped_regimes(), &input, at(0) + Duration::days(5));
        assert_eq!(find(&d, "nis2", "early_warning").state, DeadlineState::Met);
        assert_eq!(find(&d, "nis2", "notification").state, DeadlineState::MetLate);
        // 2026-02-03T08:00 + 1 month = 2026-03-03T08:00
        assert_eq!(find(&d, "nis2", "final_report").due_at, Some(Utc.with_ymd_and_hms(2026, 3, 3, 8, 0, 0).unwrap()));
        assert_eq!(find(&d, "nis2", "final_report").state, DeadlineState::Due);
    }

    #[test]
    fn internal_service_levels_by_severity() {
        let mut input = ClockInput { severity: Some(Severity::Critical), ..Default::default() };
        input.milestones.insert("created".into(), at(0));
        let d = compute(shipped_regimes(), &input, at(0));
        assert_eq!(find(&d, "sla", "triage").due_at, Some(at(1)));
        assert!(!find(&d, "sla", "triage").legal);
    }

    #[test]
    fn periods_and_bad_regimes() {
        assert_eq!(Within::try_from("36h".to_string()), Ok(Within::Hours(36)));
        assert_eq!(Within::try_from("1mo".to_string()), Ok(Within::Months(1)));
        assert!(Within::try_from("soon".to_string()).is_err());
        assert!(Within::try_from("3w".to_string()).is_err());
        let bad = "[[regime]]\ncode='x'\nlegal=true\napplies_when='always'\nen='x'\nzh_tw='x'\n[[regime.obligation]]\ncode='o'\nen='o'\nzh_tw='o'\nfrom='a'\nmet_by='b'\nwithin='1h'\nlevels=[5]\n";
        assert!(parse_regimes(bad).unwrap_err().contains("levels"));
        assert!(milestone_names(shipped_regimes()).contains(&"level_reviewed".to_string()));
    }
}
