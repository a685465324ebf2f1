//! Work on an incident: tasks, investigations with outside parties, countermeasures,
//! and the playbooks that create tasks per RSIT type.

use crate::incident::{CountermeasureStatus, InvestigationStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Task {
    pub id: Uuid,
    pub incident_id: Uuid,
    pub title: String,
    pub assignee_id: Option<Uuid>,
    pub due_at: Option<DateTime<Utc>>,
    pub done_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A team of CERT staff that incidents can be assigned to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Team {
    pub id: Uuid,
    pub name: String,
    pub members: Vec<Uuid>,
}

/// Coordination with one outside party, e.g. the owner of an affected host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Investigation {
    pub id: Uuid,
    pub incident_id: Uuid,
    pub party: String,
    pub contact: Option<String>,
    pub org_id: Option<Uuid>,
    pub status: InvestigationStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

crate::wire_enum! {
    CountermeasureKind, "countermeasure kind" {
        BlockIp => "block_ip",
        BlockDomain => "block_domain",
        BlockUrl => "block_url",
        Takedown => "takedown",
        Sinkhole => "sinkhole",
        Other => "other",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Countermeasure {
    pub id: Uuid,
    pub incident_id: Uuid,
    pub kind: CountermeasureKind,
    /// What is blocked or taken down: an address, a domain, a URL.
    pub target: String,
    pub status: CountermeasureStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A short line of text as entered: trimmed, 1 to `max` characters, no control characters.
pub fn check_line(value: &str, max: usize) -> Option<String> {
    let v = value.trim();
    (!v.is_empty() && v.chars().count() <= max && !v.chars().any(char::is_control)).then(|| v.to_string())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Playbook {
    pub rsit_class: String,
    /// Empty: every type of the class.
    #[serde(default)]
    pub rsit_type: String,
    pub tasks: Vec<PlaybookTask>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaybookTask {
    pub en: String,
    pub zh_tw: String,
    /// Hours after the incident is opened that the task is due.
    pub due_hours: Option<i64>,
}

#[derive(Deserialize)]
struct PlaybookFile {
    playbook: Vec<Playbook>,
}

pub fn parse_playbooks(text: &str) -> Result<Vec<Playbook>, String> {
    let file: PlaybookFile = toml::from_str(text).map_err(|e| e.to_string())?;
    for p in &file.playbook {
        let known = crate::rsit::classes()
            .iter()
            .any(|c| c.value == p.rsit_class && (p.rsit_type.is_empty() || c.types.iter().any(|t| t.value == p.rsit_type)));
        if !known {
            return Err(format!("playbook for unknown RSIT {}/{}", p.rsit_class, p.rsit_type));
        }
    }
    Ok(file.playbook)
}

pub fn shipped_playbooks() -> &'static [Playbook] {
    static PLAYBOOKS: OnceLock<Vec<Playbook>> = OnceLock::new();
    PLAYBOOKS.get_or_init(|| parse_playbooks(include_str!("../data/playbooks.toml")).expect("data/playbooks.toml is checked by the tests"))
}

/// The most specific playbook for a class and type: the type's own, else the class's.
pub fn playbook_for(class: &str, rsit_type: &str) -> Option<&'static Playbook> {
    let all = shipped_playbooks();
    all.iter()
        .find(|p| p.rsit_class == class && p.rsit_type == rsit_type)
        .or_else(|| all.iter().find(|p| p.rsit_class == class && p.rsit_type.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playbooks_parse_and_match_most_specific_first() {
        assert!(!shipped_playbooks().is_empty());
        let phishing = playbook_for("fraud", "phishing").expect("a phishing playbook");
        assert_eq!(phishing.rsit_type, "phishing");
        assert!(phishing.tasks.iter().all(|t| !t.en.is_empty() && !t.zh_tw.is_empty()));
        assert!(playbook_for("malicious-code", "infected-system").is_some());
        assert!(parse_playbooks("[[playbook]]\nrsit_class='nope'\ntasks=[]\n").is_err());
        assert_eq!(check_line("  block it ", 20).as_deref(), Some("block it"));
        assert_eq!(check_line("a\u{7}", 20), None);
    }
}
