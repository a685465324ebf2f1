use super::{ServiceError, ServiceResult};
use rampart_core::org::{NewOrganisation, OrgType, Organisation};
use rampart_core::policy::{self, Caller};
use rampart_store::{Actor, Store};

pub async fn create(store: &dyn Store, caller: Option<&Caller>, actor: &Actor, new: NewOrganisation) -> ServiceResult<Organisation> {
    if let Some(caller) = caller {
        if !policy::may_administer(caller) {
            return Err(ServiceError::Forbidden("only administrators create organisations".into()));
        }
    }
    let new = new.validate().map_err(|e| ServiceError::Invalid(e.to_string()))?;
    if let Some(parent) = new.parent_id {
        if store.get_org(parent).await?.is_none() {
            return Err(ServiceError::Invalid("the parent organisation does not exist".into()));
        }
    }
    Ok(store.create_org(actor, new).await?)
}

/// Staff see every organisation; everyone else sees their own and those below it.
pub async fn visible(store: &dyn Store, caller: &Caller) -> ServiceResult<Vec<Organisation>> {
    let all = store.list_orgs().await?;
    if caller.is_staff() {
        return Ok(all);
    }
    Ok(all.into_iter().filter(|o| Some(o.id) == caller.org_id || (o.parent_id.is_some() && o.parent_id == caller.org_id)).collect())
}

/// The operator's own organisation, created on first start.
pub async fn ensure_operator(store: &dyn Store, name: &str) -> ServiceResult<Organisation> {
    if let Some(cert) = store.list_orgs().await?.into_iter().find(|o| o.org_type == OrgType::Cert) {
        return Ok(cert);
    }
    let new = NewOrganisation { name: name.to_string(), org_type: OrgType::Cert, sector: None, country: "TW".into(), parent_id: None };
    create(store, None, &Actor::System, new).await
}
