//! The one access policy. Every read and write path in Rampart — UI, REST, exports,
//! feeds, outgoing mail — asks [`decide`]; none has a check of its own.
//!
//! The rules, in short:
//! * Anonymous callers see only `TLP:CLEAR` published to the public.
//! * CERT staff see everything except `TLP:RED` not addressed to their organisation.
//! * The owning organisation always sees its own objects.
//! * Another organisation sees an object only if it is in the object's audience, and TLP
//!   narrows that audience: `CLEAR`/`GREEN` may go to the community; `AMBER` needs an
//!   explicit audience (the organisation or its parent, i.e. a recipient and its clients);
//!   `AMBER+STRICT` the organisation itself; `RED` only named recipient organisations.
//! * Writing needs reading plus a writing role: staff other than auditors anywhere they
//!   can read, constituents only on their own organisation's objects.
//! * PAP governs acting on information: active use (blocking, contacting third parties)
//!   is for `PAP:CLEAR`/`GREEN`, or the owner; passive use follows reading.

use crate::account::Role;
use crate::tlp::{Pap, Tlp};
use uuid::Uuid;

/// Who is asking. Built once per request from the session or API token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    pub user_id: Option<Uuid>,
    pub org_id: Option<Uuid>,
    /// The parent of the caller's organisation, for TLP:AMBER's "and its clients".
    pub org_parent_id: Option<Uuid>,
    pub roles: Vec<Role>,
    /// Sharing groups the caller's organisation belongs to.
    pub sharing_groups: Vec<Uuid>,
    /// Whether the caller's organisation is one of the CERT's constituents.
    pub constituent: bool,
}

impl Caller {
    pub fn anonymous() -> Self {
        Self::default()
    }

    pub fn is_staff(&self) -> bool {
        self.roles.iter().any(|r| r.is_staff())
    }

    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    fn in_org(&self, org: Uuid) -> bool {
        self.org_id == Some(org)
    }
}

/// Who an object is meant for, before TLP narrows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// The owning organisation only.
    OwnOrg,
    /// Named recipient organisations.
    Orgs(Vec<Uuid>),
    /// A sharing group (named set of organisations and peers).
    SharingGroup(Uuid),
    /// The CERT's constituents (agencies, operators, enterprises, ISAC members), not its
    /// peers abroad or vendors.
    Constituency,
    /// Every signed-in organisation of the community.
    Community,
    /// Anyone, including the public.
    Public,
}

/// What the policy needs to know about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub owner_org: Uuid,
    pub tlp: Tlp,
    pub pap: Pap,
    pub audience: Audience,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Read,
    Write,
    /// Use that cannot be noticed outside, e.g. searching one's own logs.
    ActPassively,
    /// Use that can be noticed, e.g. blocking, or contacting a third party.
    ActActively,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny(DenyReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenyReason {
    NotInAudience,
    ReadOnlyRole,
    NotOwner,
    PapForbids,
    NotAuthenticated,
}

impl Decision {
    pub fn allowed(self) -> bool {
        self == Decision::Allow
    }
}

pub fn decide(caller: &Caller, action: Action, resource: &Resource) -> Decision {
    if let Decision::Deny(reason) = read(caller, resource) {
        return Decision::Deny(reason);
    }
    let owner = caller.in_org(resource.owner_org);
    match action {
        Action::Read | Action::ActPassively => Decision::Allow,
        Action::Write => {
            if caller.roles.is_empty() {
                Decision::Deny(DenyReason::NotAuthenticated)
            } else if caller.roles.iter().all(|r| *r == Role::Auditor) {
                Decision::Deny(DenyReason::ReadOnlyRole)
            } else if caller.is_staff() || owner {
                Decision::Allow
            } else {
                Decision::Deny(DenyReason::NotOwner)
            }
        }
        Action::ActActively => {
            if owner || matches!(resource.pap, Pap::Clear | Pap::Green) {
                Decision::Allow
            } else {
                Decision::Deny(DenyReason::PapForbids)
            }
        }
    }
}

fn read(caller: &Caller, resource: &Resource) -> Decision {
    use Decision::{Allow, Deny};
    let signed_in = caller.org_id.is_some() && !caller.roles.is_empty();
    if !signed_in {
        return if resource.tlp == Tlp::Clear && resource.audience == Audience::Public {
            Allow
        } else {
            Deny(DenyReason::NotAuthenticated)
        };
    }
    if caller.in_org(resource.owner_org) {
        return Allow;
    }
    let named = |org: Option<Uuid>| match (&resource.audience, org) {
        (Audience::Orgs(orgs), Some(org)) => orgs.contains(&org),
        _ => false,
    };
    let in_group = match resource.audience {
        Audience::SharingGroup(group) => caller.sharing_groups.contains(&group),
        _ => false,
    };
    if caller.is_staff() {
        // The operator runs the platform and handles what is reported to it, but a
        // TLP:RED object is still only for the organisations it names.
        return if resource.tlp != Tlp::Red || named(caller.org_id) { Allow } else { Deny(DenyReason::NotInAudience) };
    }
    let community = matches!(resource.audience, Audience::Community | Audience::Public)
        || (resource.audience == Audience::Constituency && caller.constituent);
    let allowed = match resource.tlp {
        Tlp::Clear | Tlp::Green => community || in_group || named(caller.org_id) || named(caller.org_parent_id),
        Tlp::Amber => in_group || named(caller.org_id) || named(caller.org_parent_id),
        Tlp::AmberStrict => in_group || named(caller.org_id),
        Tlp::Red => named(caller.org_id),
    };
    if allowed {
        Allow
    } else {
        Deny(DenyReason::NotInAudience)
    }
}

/// Administering the platform: organisations, all users, configuration.
pub fn may_administer(caller: &Caller) -> bool {
    caller.has(Role::Admin)
}

/// Managing the users of one organisation.
pub fn may_manage_users_of(caller: &Caller, org: Uuid) -> bool {
    caller.has(Role::Admin) || (caller.has(Role::OrgAdmin) && caller.in_org(org))
}

/// Reading the audit trail and operational metrics.
pub fn may_read_audit(caller: &Caller) -> bool {
    caller.has(Role::Admin) || caller.has(Role::Auditor)
}

/// Seeing an organisation's registry entry (contacts, assets, notifications sent):
/// staff, and the organisation's own users.
pub fn may_read_registry_of(caller: &Caller, org: Uuid) -> bool {
    caller.is_staff() || caller.in_org(org)
}

/// Keeping contacts and keys: coordinators and administrators, and an organisation's
/// own administrators for their organisation (self-service).
pub fn may_edit_contacts_of(caller: &Caller, org: Uuid) -> bool {
    may_coordinate(caller) || (caller.has(Role::OrgAdmin) && caller.in_org(org))
}

/// Recording assets directly and deciding on claims, peers, imports, templates,
/// suppression rules and the outbox: the CERT's coordinators and administrators.
/// Submitting intelligence to the exchange: anyone signed in with a writing role
/// (auditors only read). Where it goes is then decided per audience.
pub fn may_submit_intel(caller: &Caller) -> bool {
    caller.org_id.is_some() && caller.roles.iter().any(|r| *r != Role::Auditor)
}

/// Publishing to everyone, reviewing members' submissions, keeping sharing groups and
/// trusted publishers: staff who write.
pub fn may_curate_intel(caller: &Caller) -> bool {
    caller.has(Role::Admin) || caller.has(Role::Coordinator) || caller.has(Role::Analyst)
}

/// Submitting to a sharing group: its members, and curating staff.
pub fn may_submit_to_group(caller: &Caller, group: Uuid) -> bool {
    may_submit_intel(caller) && (may_curate_intel(caller) || caller.sharing_groups.contains(&group))
}

pub fn may_coordinate(caller: &Caller) -> bool {
    caller.has(Role::Admin) || caller.has(Role::Coordinator)
}

/// Claiming an asset for approval: an organisation's own administrators.
pub fn may_claim_assets_of(caller: &Caller, org: Uuid) -> bool {
    caller.has(Role::OrgAdmin) && caller.in_org(org)
}

/// Asking who is responsible for an address: staff.
pub fn may_route(caller: &Caller) -> bool {
    caller.is_staff()
}

/// Operational metrics are for staff only.
pub fn may_read_metrics(caller: &Caller) -> bool {
    caller.is_staff()
}

#[cfg(test)]
mod tests;
