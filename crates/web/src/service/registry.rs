//! The constituency registry: contacts and their keys, network assets and claims,
//! peer CSIRTs, and the organisation directory.

use super::routing::RouteIndex;
use super::{ServiceError, ServiceResult};
use rampart_core::constituency::prefix::IpPrefix;
use rampart_core::constituency::resolve::{assets_overlapping, AssetRecord, AssetSource};
use rampart_core::org::{NewOrganisation, OrgType, Organisation};
use rampart_core::policy::{self, Caller};
use rampart_core::registry::{Asset, AssetStatus, Contact, NewAsset, NewContact, NewPeer, PeerCsirt};
use rampart_store::registry::ContactRecord;
use rampart_store::{Actor, Store};
use serde::Serialize;
use uuid::Uuid;

fn forbidden(what: &str) -> ServiceError {
    ServiceError::Forbidden(what.to_string())
}

/// Checks a contact; an OpenPGP key must parse, verify, be current and able to encrypt.
pub fn contact_record(new: NewContact) -> ServiceResult<ContactRecord> {
    let new = new.validate().map_err(|e| ServiceError::Invalid(e.to_string()))?;
    let (pgp_fingerprint, pgp_expires_at) = match &new.pgp_key {
        Some(armored) => {
            let (_, info) = rampart_notify::compose::public_key_from_armored(armored).map_err(|e| ServiceError::Invalid(e.to_string()))?;
            (Some(info.fingerprint), info.expires_at)
        }
        None => (None, None),
    };
    Ok(ContactRecord {
        role: new.role,
        name: new.name,
        email: new.email,
        phone: new.phone,
        language: new.language,
        pgp_key: new.pgp_key,
        pgp_fingerprint,
        pgp_expires_at,
    })
}

async fn org(store: &dyn Store, id: Uuid) -> ServiceResult<Organisation> {
    store.get_org(id).await?.ok_or_else(|| ServiceError::Store(rampart_store::StoreError::NotFound))
}

pub async fn contacts(store: &dyn Store, caller: &Caller, org_id: Uuid) -> ServiceResult<Vec<Contact>> {
    if !policy::may_read_registry_of(caller, org_id) {
        return Err(forbidden("you may not see this organisation's contacts"));
    }
    Ok(store.registry().contacts(org_id).await?)
}

pub async fn add_contact(store: &dyn Store, caller: &Caller, actor: &Actor, org_id: Uuid, new: NewContact) -> ServiceResult<Contact> {
    if !policy::may_edit_contacts_of(caller, org_id) {
        return Err(forbidden("you may not change this organisation's contacts"));
    }
    org(store, org_id).await?;
    let record = contact_record(new)?;
    Ok(store.registry().add_contact(actor, org_id, &record).await?)
}

pub async fn update_contact(store: &dyn Store, caller: &Caller, actor: &Actor, id: Uuid, new: NewContact) -> ServiceResult<Contact> {
    let current = store.registry().get_contact(id).await?.ok_or(ServiceError::Store(rampart_store::StoreError::NotFound))?;
    if !policy::may_edit_contacts_of(caller, current.org_id) {
        return Err(forbidden("you may not change this organisation's contacts"));
    }
    let record = contact_record(new)?;
    Ok(store.registry().update_contact(actor, id, &record).await?)
}

pub async fn delete_contact(store: &dyn Store, caller: &Caller, actor: &Actor, id: Uuid) -> ServiceResult<()> {
    let current = store.registry().get_contact(id).await?.ok_or(ServiceError::Store(rampart_store::StoreError::NotFound))?;
    if !policy::may_edit_contacts_of(caller, current.org_id) {
        return Err(forbidden("you may not change this organisation's contacts"));
    }
    Ok(store.registry().delete_contact(actor, id).await?)
}

pub async fn assets(store: &dyn Store, caller: &Caller, org_id: Uuid) -> ServiceResult<Vec<Asset>> {
    if !policy::may_read_registry_of(caller, org_id) {
        return Err(forbidden("you may not see this organisation's assets"));
    }
    Ok(store.registry().assets(org_id).await?)
}

/// An asset recorded or claimed, with overlaps worth a second look.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AssetOutcome {
    pub asset: Asset,
    /// Other organisations' assets that overlap this one.
    pub overlaps: Vec<String>,
}

/// Coordinators record assets directly; an organisation's administrators claim them,
/// and the claim waits for the CERT.
pub async fn add_asset(
    store: &dyn Store,
    index: &RouteIndex,
    caller: &Caller,
    actor: &Actor,
    org_id: Uuid,
    new: NewAsset,
) -> ServiceResult<AssetOutcome> {
    let status = if policy::may_coordinate(caller) {
        AssetStatus::Active
    } else if policy::may_claim_assets_of(caller, org_id) {
        AssetStatus::Pending
    } else {
        return Err(forbidden("you may not record assets for this organisation"));
    };
    org(store, org_id).await?;
    let checked = new.validate().map_err(|e| ServiceError::Invalid(e.to_string()))?;
    let overlaps = overlaps_of(store, org_id, &checked.value).await?;
    let asset = store.registry().add_asset(actor, org_id, &checked, &AssetSource::Manual, status).await?;
    index.invalidate();
    Ok(AssetOutcome { asset, overlaps })
}

async fn overlaps_of(store: &dyn Store, org_id: Uuid, value: &str) -> ServiceResult<Vec<String>> {
    let Ok(prefix) = IpPrefix::parse(value) else { return Ok(Vec::new()) };
    let active = store.registry().assets_with_status(AssetStatus::Active).await?;
    let records: Vec<AssetRecord> = active.into_iter().filter(|a| a.org_id != org_id).map(AssetRecord::from).collect();
    let mut out = Vec::new();
    for a in assets_overlapping(&records, &prefix) {
        let name = store.get_org(a.org_id).await?.map(|o| o.name).unwrap_or_default();
        out.push(format!("{} ({}, {})", a.value, name, a.source));
    }
    Ok(out)
}

pub async fn pending_claims(store: &dyn Store, caller: &Caller) -> ServiceResult<Vec<Asset>> {
    if !policy::may_coordinate(caller) {
        return Err(forbidden("only coordinators decide on claims"));
    }
    Ok(store.registry().assets_with_status(AssetStatus::Pending).await?)
}

pub async fn decide_claim(
    store: &dyn Store,
    index: &RouteIndex,
    caller: &Caller,
    actor: &Actor,
    id: Uuid,
    approve: bool,
) -> ServiceResult<Asset> {
    if !policy::may_coordinate(caller) {
        return Err(forbidden("only coordinators decide on claims"));
    }
    let asset = store.registry().get_asset(id).await?.ok_or(ServiceError::Store(rampart_store::StoreError::NotFound))?;
    if asset.status != AssetStatus::Pending {
        return Err(ServiceError::Invalid(format!("this asset is {}, not a pending claim", asset.status)));
    }
    let status = if approve { AssetStatus::Active } else { AssetStatus::Rejected };
    let asset = store.registry().set_asset_status(actor, id, status).await?;
    index.invalidate();
    Ok(asset)
}

pub async fn delete_asset(store: &dyn Store, index: &RouteIndex, caller: &Caller, actor: &Actor, id: Uuid) -> ServiceResult<()> {
    let asset = store.registry().get_asset(id).await?.ok_or(ServiceError::Store(rampart_store::StoreError::NotFound))?;
    // An organisation may withdraw its own pending claim; everything else is the CERT's.
    let own_claim = asset.status == AssetStatus::Pending && policy::may_claim_assets_of(caller, asset.org_id);
    if !policy::may_coordinate(caller) && !own_claim {
        return Err(forbidden("only coordinators remove assets"));
    }
    store.registry().delete_asset(actor, id).await?;
    index.invalidate();
    Ok(())
}

/// Adds or updates a peer CSIRT; its organisation is created on first use.
pub async fn upsert_peer(store: &dyn Store, index: &RouteIndex, caller: &Caller, actor: &Actor, new: NewPeer) -> ServiceResult<PeerCsirt> {
    if !policy::may_coordinate(caller) {
        return Err(forbidden("only coordinators keep the peer directory"));
    }
    let new = new.validate().map_err(|e| ServiceError::Invalid(e.to_string()))?;
    let org_new = NewOrganisation {
        name: new.name.clone(),
        org_type: OrgType::PeerCsirt,
        sector: None,
        country: new.country.clone(),
        parent_id: None,
    }
    .validate()
    .map_err(|e| ServiceError::Invalid(e.to_string()))?;
    let org = match store.find_org_by_name(&org_new.name).await? {
        Some(o) if o.org_type == OrgType::PeerCsirt => o,
        Some(_) => return Err(ServiceError::Invalid(format!("{:?} is an organisation that is not a peer CSIRT", org_new.name))),
        None => store.create_org(actor, org_new.clone()).await?,
    };
    let new = NewPeer { country: org.country.clone(), ..new };
    let peer = store.registry().upsert_peer(actor, org.id, &new).await?;
    index.invalidate();
    Ok(peer)
}

pub async fn peers(store: &dyn Store, caller: &Caller) -> ServiceResult<Vec<PeerCsirt>> {
    if !caller.is_staff() {
        return Err(forbidden("the peer directory is for CERT staff"));
    }
    Ok(store.registry().peers().await?)
}

/// The organisation directory: staff search all; others see their own.
pub async fn search(store: &dyn Store, caller: &Caller, q: &str) -> ServiceResult<Vec<Organisation>> {
    let found = if q.trim().is_empty() { store.list_orgs().await? } else { store.registry().search_orgs(q, 200).await? };
    Ok(found.into_iter().filter(|o| policy::may_read_registry_of(caller, o.id)).collect())
}
