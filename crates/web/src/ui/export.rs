//! Incident export for the authorities' report: HTML (printable), JSON and CSV, each
//! with the timeline, observables and deadlines.

use super::handling::{actor_names, deadline_rows, timeline_rows};
use super::incident_pages::{ExportPage, ObservableRow};
use super::PageCtx;
use crate::time::display;
use crate::AppState;
use chrono::Utc;
use rampart_core::deadlines::Deadline;
use rampart_core::observables::Observable;
use rampart_core::records::{Incident, TimelineEntry};
use serde::Serialize;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentExport {
    pub incident: Incident,
    pub deadlines: Vec<Deadline>,
    pub observables: Vec<Observable>,
    pub timeline: Vec<TimelineEntry>,
    pub exported_at: chrono::DateTime<Utc>,
}

pub async fn html(state: &AppState, lang: &str, export: &IncidentExport) -> Result<String, askama::Error> {
    use askama::Template;
    let zone = &state.settings.time_zone;
    let page = PageCtx::new(lang, String::new(), None, None, "title.incident", false);
    let names = actor_names(&*state.store, &export.timeline).await;
    let i = &export.incident;
    let view = ExportPage {
        reference: i.reference.clone(),
        title: i.title.clone(),
        description: i.description.clone(),
        tlp: i.tlp.to_string(),
        status_label: page.t(&format!("incident_status.{}", i.status)).to_string(),
        severity_label: page.t(&format!("severity.{}", i.severity)).to_string(),
        level: i.tw_level.map(|l| l.get().to_string()).unwrap_or_default(),
        rsit_label: match (&i.rsit_class, &i.rsit_type) {
            (Some(c), Some(t)) => rampart_core::rsit::machine_tag(c, t),
            _ => String::new(),
        },
        generated_at: display(export.exported_at, zone),
        deadlines: deadline_rows(&page, &export.deadlines, zone),
        timeline: timeline_rows(&page, &export.timeline, &names, zone),
        observables: export.observables.iter().map(|o| ObservableRow { kind: o.kind.to_string(), value: o.value.clone() }).collect(),
        page,
    };
    view.render()
}

/// One table: `section,time,kind,value,detail`.
pub fn csv(export: &IncidentExport) -> String {
    let mut out = String::from("section,time,kind,value,detail\r\n");
    let i = &export.incident;
    let row = |out: &mut String, fields: [&str; 5]| {
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    };
    row(&mut out, ["incident", &i.created_at.to_rfc3339(), "reference", &i.reference, &i.title]);
    row(&mut out, ["incident", "", "tlp", i.tlp.as_str(), ""]);
    row(&mut out, ["incident", "", "severity", i.severity.as_str(), ""]);
    row(&mut out, ["incident", "", "tw_level", &i.tw_level.map(|l| l.get().to_string()).unwrap_or_default(), ""]);
    for d in &export.deadlines {
        let due = d.due_at.map(|t| t.to_rfc3339()).unwrap_or_default();
        let met = d.met_at.map(|t| t.to_rfc3339()).unwrap_or_default();
        row(&mut out, ["deadline", &due, &format!("{}/{}", d.regime, d.obligation), d.state.as_str(), &met]);
    }
    for t in &export.timeline {
        row(&mut out, ["timeline", &t.event_at.to_rfc3339(), t.kind.as_str(), &t.actor, &t.body]);
    }
    for o in &export.observables {
        row(&mut out, ["observable", "", o.kind.as_str(), &o.value, ""]);
    }
    out
}

/// RFC 4180 quoting, and no cell that a spreadsheet would run as a formula.
fn csv_field(value: &str) -> String {
    let guarded = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}") } else { value.to_string() };
    if guarded.contains([',', '"', '\n', '\r']) || guarded != value {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(super::csv_field("plain"), "plain");
        assert_eq!(super::csv_field("a,b"), "\"a,b\"");
        assert_eq!(super::csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(super::csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
    }
}
