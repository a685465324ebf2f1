//! Imports into the registry: organisations with their assets and contacts from a
//! CSV file or RIPE-database split files, and the IP→ASN routing table. Each import
//! is named; running it again with the same data changes nothing, and what it no
//! longer lists is removed from that source only. Manual entries are never touched.

use super::routing::RouteIndex;
use super::{ServiceError, ServiceResult};
use rampart_core::constituency::import::{ParsedImport, Rejected};
use rampart_core::constituency::import_routing::ParsedRouting;
use rampart_core::constituency::resolve::{AssetSource, RoutingRow};
use rampart_core::org::{NewOrganisation, OrgType};
use rampart_core::registry::{normalise_language, ContactRole};
use rampart_store::registry::{ContactRecord, ImportCounts, ImportPlan, PlannedAsset};
use rampart_store::{Actor, Store};
use serde::Serialize;
use std::collections::HashMap;

/// What an import did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportSummary {
    pub source: String,
    pub lines: usize,
    pub organisations_created: u64,
    pub assets: ImportCounts,
    pub contacts: ImportCounts,
    pub rejected: Vec<RejectedLine>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RejectedLine {
    pub file: Option<String>,
    pub line: usize,
    pub reason: String,
}

impl From<&Rejected> for RejectedLine {
    fn from(r: &Rejected) -> Self {
        RejectedLine { file: r.file.clone(), line: r.line, reason: r.reason.clone() }
    }
}

/// A name for an import source: letters, digits, `-`, `_`, `.`.
pub fn check_source_name(name: &str) -> ServiceResult<String> {
    let name = name.trim();
    let ok = (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if ok {
        Ok(name.to_string())
    } else {
        Err(ServiceError::Invalid("an import name is 1 to 64 letters, digits, '-', '_' or '.'".into()))
    }
}

/// Progress callback: `(done, total)` organisations resolved.
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Send + Sync);

pub async fn import_registry(
    store: &dyn Store,
    index: &RouteIndex,
    actor: &Actor,
    name: &str,
    parsed: &ParsedImport,
    default_country: &str,
    progress: Progress<'_>,
) -> ServiceResult<ImportSummary> {
    let name = check_source_name(name)?;
    let source = AssetSource::Imported(name.clone());
    let mut rejected: Vec<RejectedLine> = parsed.rejected.iter().map(RejectedLine::from).collect();
    let mut by_name: HashMap<String, uuid::Uuid> = store.list_orgs().await?.into_iter().map(|o| (o.name.to_lowercase(), o.id)).collect();
    let mut created = 0u64;
    let mut plan = ImportPlan::default();
    let total = parsed.orgs.len();
    for (i, imported) in parsed.orgs.iter().enumerate() {
        progress(i, total);
        let first_line = imported.assets.first().map(|a| a.line).or_else(|| imported.contacts.first().map(|c| c.line)).unwrap_or(0);
        let org_id = match by_name.get(&imported.name.trim().to_lowercase()) {
            Some(id) => *id,
            None => {
                let new = NewOrganisation {
                    name: imported.name.clone(),
                    org_type: OrgType::Enterprise,
                    sector: None,
                    country: imported.country.clone().unwrap_or_else(|| default_country.to_string()),
                    parent_id: None,
                };
                match new.validate() {
                    Ok(new) => {
                        let org = store.create_org(actor, new).await?;
                        created += 1;
                        by_name.insert(org.name.to_lowercase(), org.id);
                        org.id
                    }
                    Err(e) => {
                        rejected.push(RejectedLine {
                            file: None,
                            line: first_line,
                            reason: format!("organisation {:?}: {e}", imported.name),
                        });
                        continue;
                    }
                }
            }
        };
        for a in &imported.assets {
            plan.assets.push(PlannedAsset {
                org_id,
                kind: a.kind,
                value: a.value.clone(),
                include_subdomains: a.include_subdomains,
                comment: a.comment.clone(),
            });
        }
        for c in &imported.contacts {
            let role = c.role.parse::<ContactRole>().unwrap_or(ContactRole::Other);
            let language = match c.language.as_deref().map(normalise_language).transpose() {
                Ok(l) => l.unwrap_or_else(|| "en".into()),
                Err(e) => {
                    rejected.push(RejectedLine { file: None, line: c.line, reason: e.to_string() });
                    continue;
                }
            };
            plan.contacts.push((
                org_id,
                ContactRecord {
                    role,
                    name: None,
                    email: c.email.clone(),
                    phone: c.phone.clone(),
                    language,
                    pgp_key: None,
                    pgp_fingerprint: None,
                    pgp_expires_at: None,
                },
            ));
        }
    }
    progress(total, total);
    let (assets, contacts) = store.registry().apply_import(actor, &source, &plan).await?;
    index.invalidate();
    rejected.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    Ok(ImportSummary { source: source.to_string(), lines: parsed.lines, organisations_created: created, assets, contacts, rejected })
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RoutingSummary {
    pub source: String,
    pub lines: usize,
    pub prefixes: ImportCounts,
    pub rejected: Vec<RejectedLine>,
}

pub async fn import_routing(
    store: &dyn Store,
    index: &RouteIndex,
    actor: &Actor,
    name: &str,
    parsed: &ParsedRouting,
) -> ServiceResult<RoutingSummary> {
    let name = check_source_name(name)?;
    let rows: Vec<RoutingRow> = parsed.rows.iter().cloned().map(RoutingRow::from).collect();
    let prefixes = store.registry().replace_routing(actor, &name, &rows).await?;
    index.invalidate();
    Ok(RoutingSummary { source: name, lines: parsed.lines, prefixes, rejected: parsed.rejected.iter().map(RejectedLine::from).collect() })
}
