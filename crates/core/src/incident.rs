//! Reports and incidents: their states and the moves between them, classification,
//! and the human references (`RPT-2026-000042`, `INC-2026-000123`) that travel in
//! e-mail subjects.

use serde::{Deserialize, Serialize};

crate::wire_enum! {
    /// What happened to a report.
    ReportStatus, "report status" {
        New => "new",
        Triaged => "triaged",
        Linked => "linked",
        Rejected => "rejected",
    }
}

crate::wire_enum! {
    IncidentStatus, "incident status" {
        New => "new",
        Open => "open",
        Contained => "contained",
        Resolved => "resolved",
        Closed => "closed",
    }
}

crate::wire_enum! {
    /// A block or other measure taken against an incident.
    CountermeasureStatus, "countermeasure status" {
        PendingActivation => "pending_activation",
        Active => "active",
        PendingRemoval => "pending_removal",
        Removed => "removed",
    }
}

crate::wire_enum! {
    InvestigationStatus, "investigation status" {
        Open => "open",
        Closed => "closed",
    }
}

crate::wire_enum! {
    Severity, "severity" {
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
}

crate::wire_enum! {
    /// Impact on confidentiality, integrity or availability.
    Impact, "impact" {
        None => "none",
        Low => "low",
        Medium => "medium",
        High => "high",
    }
}

/// A state machine: which moves are allowed.
pub trait Lifecycle: Copy + PartialEq + std::fmt::Display {
    fn can_move_to(self, next: Self) -> bool;
}

impl Lifecycle for ReportStatus {
    fn can_move_to(self, next: Self) -> bool {
        use ReportStatus::*;
        matches!((self, next), (New, Triaged | Linked | Rejected) | (Triaged, Linked | Rejected) | (Rejected, Triaged))
    }
}

impl Lifecycle for IncidentStatus {
    fn can_move_to(self, next: Self) -> bool {
        use IncidentStatus::*;
        matches!(
            (self, next),
            (New, Open | Contained | Resolved | Closed)
                | (Open, Contained | Resolved)
                | (Contained, Open | Resolved)
                | (Resolved, Closed | Open)
                // Reopening.
                | (Closed, Open)
        )
    }
}

impl Lifecycle for CountermeasureStatus {
    fn can_move_to(self, next: Self) -> bool {
        use CountermeasureStatus::*;
        matches!((self, next), (PendingActivation, Active | Removed) | (Active, PendingRemoval) | (PendingRemoval, Removed | Active))
    }
}

impl Lifecycle for InvestigationStatus {
    fn can_move_to(self, next: Self) -> bool {
        self != next
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot move from {from} to {to}")]
pub struct TransitionError {
    pub from: String,
    pub to: String,
}

pub fn transition<S: Lifecycle>(from: S, to: S) -> Result<S, TransitionError> {
    if from.can_move_to(to) {
        Ok(to)
    } else {
        Err(TransitionError { from: from.to_string(), to: to.to_string() })
    }
}

/// Taiwan's incident level (1 least to 4 most severe), as assessed or reviewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "u8", into = "u8")]
pub struct TwLevel(u8);

impl TwLevel {
    pub fn new(level: u8) -> Option<Self> {
        (1..=4).contains(&level).then_some(Self(level))
    }
    pub fn get(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for TwLevel {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, Self::Error> {
        TwLevel::new(v).ok_or_else(|| format!("incident level must be 1 to 4, not {v}"))
    }
}

impl From<TwLevel> for u8 {
    fn from(l: TwLevel) -> u8 {
        l.0
    }
}

crate::wire_enum! {
    /// Kinds of human reference.
    RefKind, "reference kind" {
        Report => "RPT",
        Incident => "INC",
        Notification => "NTF",
    }
}

/// `RPT-2026-000042`: kind, year, number within the year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Reference {
    pub kind: RefKind,
    pub year: i32,
    pub number: i64,
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}-{:06}", self.kind, self.year, self.number)
    }
}

impl std::str::FromStr for Reference {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        let mut parts = s.trim().splitn(3, '-');
        let kind = parts.next().ok_or(())?.to_ascii_uppercase().parse().map_err(|_| ())?;
        let year = parts.next().filter(|y| y.len() == 4).ok_or(())?.parse().map_err(|_| ())?;
        let number = parts.next().filter(|n| (1..=12).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit())).ok_or(())?;
        Ok(Reference { kind, year, number: number.parse().map_err(|_| ())? })
    }
}

/// References tagged in a mail subject as `[INC-2026-000123]`, in order of appearance.
pub fn references_in_subject(subject: &str) -> Vec<Reference> {
    subject.split('[').skip(1).filter_map(|part| part.split(']').next()).filter_map(|tag| tag.parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycles() {
        use IncidentStatus::*;
        assert!(transition(New, Open).is_ok());
        assert!(transition(Closed, Open).is_ok(), "reopen");
        assert_eq!(transition(Closed, Contained).unwrap_err().to_string(), "cannot move from closed to contained");
        assert!(transition(ReportStatus::New, ReportStatus::Linked).is_ok());
        assert!(transition(ReportStatus::Linked, ReportStatus::New).is_err());
        assert!(transition(CountermeasureStatus::Active, CountermeasureStatus::PendingRemoval).is_ok());
        assert!(transition(CountermeasureStatus::Removed, CountermeasureStatus::Active).is_err());
    }

    #[test]
    fn references_round_trip_and_are_found_in_subjects() {
        let r = Reference { kind: RefKind::Incident, year: 2026, number: 123 };
        assert_eq!(r.to_string(), "INC-2026-000123");
        assert_eq!("inc-2026-000123".parse::<Reference>(), Ok(r));
        assert!("INC-26-1".parse::<Reference>().is_err());
        assert!("XYZ-2026-000001".parse::<Reference>().is_err());
        let found = references_in_subject("Re: [RPT-2026-000042] phishing [not a ref] [INC-2026-000007]");
        assert_eq!(found.iter().map(ToString::to_string).collect::<Vec<_>>(), ["RPT-2026-000042", "INC-2026-000007"]);
        assert!(TwLevel::new(0).is_none() && TwLevel::new(4).is_some());
        assert!(serde_json::from_str::<TwLevel>("5").is_err());
    }
}
