//! The constituency registry's storage: contacts, network assets, peer CSIRTs and the
//! offline IP→ASN routing table. Implemented by both backends through
//! [`crate::registry_sql`].

use crate::{Actor, Result};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rampart_core::constituency::resolve::{AssetKind, AssetSource, RoutingRow};
use rampart_core::registry::{Asset, AssetStatus, CheckedAsset, Contact, ContactRole, NewPeer, PeerCsirt};
use serde::Serialize;
use uuid::Uuid;

/// A checked contact with what was read from its OpenPGP key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRecord {
    pub role: ContactRole,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub language: String,
    pub pgp_key: Option<String>,
    pub pgp_fingerprint: Option<String>,
    pub pgp_expires_at: Option<DateTime<Utc>>,
}

/// One asset an import wants to exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedAsset {
    pub org_id: Uuid,
    pub kind: AssetKind,
    pub value: String,
    pub include_subdomains: bool,
    pub comment: String,
}

/// What an import of a named source wants: everything it lists, and nothing else
/// from that source. Running the same import twice changes nothing.
#[derive(Debug, Clone, Default)]
pub struct ImportPlan {
    pub assets: Vec<PlannedAsset>,
    pub contacts: Vec<(Uuid, ContactRecord)>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ImportCounts {
    pub added: u64,
    pub changed: u64,
    pub removed: u64,
    pub unchanged: u64,
}

impl ImportCounts {
    pub fn add(&mut self, other: ImportCounts) {
        self.added += other.added;
        self.changed += other.changed;
        self.removed += other.removed;
        self.unchanged += other.unchanged;
    }
}

#[async_trait]
pub trait RegistryStore: Send + Sync {
    async fn add_contact(&self, actor: &Actor, org_id: Uuid, contact: &ContactRecord) -> Result<Contact>;
    async fn update_contact(&self, actor: &Actor, id: Uuid, contact: &ContactRecord) -> Result<Contact>;
    async fn delete_contact(&self, actor: &Actor, id: Uuid) -> Result<()>;
    async fn get_contact(&self, id: Uuid) -> Result<Option<Contact>>;
    async fn contacts(&self, org_id: Uuid) -> Result<Vec<Contact>>;
    /// Every contact's OpenPGP key, for checking signatures on incoming mail.
    async fn contact_keys(&self) -> Result<Vec<String>>;

    async fn add_asset(
        &self,
        actor: &Actor,
        org_id: Uuid,
        asset: &CheckedAsset,
        source: &AssetSource,
        status: AssetStatus,
    ) -> Result<Asset>;
    /// Approves or rejects a pending claim, or retires an asset.
    async fn set_asset_status(&self, actor: &Actor, id: Uuid, status: AssetStatus) -> Result<Asset>;
    async fn delete_asset(&self, actor: &Actor, id: Uuid) -> Result<()>;
    async fn get_asset(&self, id: Uuid) -> Result<Option<Asset>>;
    async fn assets(&self, org_id: Uuid) -> Result<Vec<Asset>>;
    async fn assets_with_status(&self, status: AssetStatus) -> Result<Vec<Asset>>;

    /// Makes the assets and contacts of `source` (`imported:<name>`) what `plan` says.
    async fn apply_import(&self, actor: &Actor, source: &AssetSource, plan: &ImportPlan) -> Result<(ImportCounts, ImportCounts)>;
    /// Makes the routing table rows of `source` exactly `rows`.
    async fn replace_routing(&self, actor: &Actor, source: &str, rows: &[RoutingRow]) -> Result<ImportCounts>;
    async fn routing_rows(&self) -> Result<Vec<RoutingRow>>;
    /// Routing-table sources and their row counts.
    async fn routing_sources(&self) -> Result<Vec<(String, i64)>>;

    /// Records (or updates) the peer details of a `peer_csirt` organisation.
    async fn upsert_peer(&self, actor: &Actor, org_id: Uuid, peer: &NewPeer) -> Result<PeerCsirt>;
    async fn peers(&self) -> Result<Vec<PeerCsirt>>;

    /// Organisations whose name, asset or contact address contains `q`.
    async fn search_orgs(&self, q: &str, limit: i64) -> Result<Vec<rampart_core::org::Organisation>>;

    /// Grows on every change to assets, peers or routing, so that every replica knows
    /// when to rebuild its lookup index.
    async fn generation(&self) -> Result<i64>;
}
