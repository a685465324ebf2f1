use super::*;

fn org(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

const CERT: u128 = 1;
const OWNER: u128 = 2;
const OTHER: u128 = 3;

#[derive(Debug, Clone, Copy)]
enum Relation {
    /// The caller's organisation owns the object.
    Own,
    /// Owned elsewhere and addressed to the caller's organisation by name.
    ForeignNamed,
    /// Owned elsewhere and shared with the whole community.
    ForeignCommunity,
}

fn caller_with(role: Role) -> Caller {
    let org_id = if role.is_staff() { CERT } else { OTHER };
    Caller {
        user_id: Some(org(100)),
        org_id: Some(org(org_id)),
        org_parent_id: None,
        roles: vec![role],
        sharing_groups: vec![],
        constituent: !role.is_staff(),
    }
}

fn resource(caller: &Caller, relation: Relation, tlp: Tlp) -> Resource {
    let (owner_org, audience) = match relation {
        Relation::Own => (caller.org_id.unwrap(), Audience::OwnOrg),
        Relation::ForeignNamed => (org(OWNER), Audience::Orgs(vec![caller.org_id.unwrap()])),
        Relation::ForeignCommunity => (org(OWNER), Audience::Community),
    };
    Resource { owner_org, tlp, pap: Pap::Green, audience }
}

/// Every role × relation; the columns are TLP clear, green, amber, amber+strict, red.
/// `y` = allowed, `-` = denied.
#[rustfmt::skip]
const TABLE: &[(Role, Relation, &str, &str)] = &[
    //  role               relation                    read     write
    (Role::Admin,       Relation::Own,              "yyyyy", "yyyyy"),
    (Role::Admin,       Relation::ForeignNamed,     "yyyyy", "yyyyy"),
    (Role::Admin,       Relation::ForeignCommunity, "yyyy-", "yyyy-"),
    (Role::Coordinator, Relation::Own,              "yyyyy", "yyyyy"),
    (Role::Coordinator, Relation::ForeignNamed,     "yyyyy", "yyyyy"),
    (Role::Coordinator, Relation::ForeignCommunity, "yyyy-", "yyyy-"),
    (Role::Analyst,     Relation::Own,              "yyyyy", "yyyyy"),
    (Role::Analyst,     Relation::ForeignNamed,     "yyyyy", "yyyyy"),
    (Role::Analyst,     Relation::ForeignCommunity, "yyyy-", "yyyy-"),
    (Role::Auditor,     Relation::Own,              "yyyyy", "-----"),
    (Role::Auditor,     Relation::ForeignNamed,     "yyyyy", "-----"),
    (Role::Auditor,     Relation::ForeignCommunity, "yyyy-", "-----"),
    (Role::OrgAdmin,    Relation::Own,              "yyyyy", "yyyyy"),
    (Role::OrgAdmin,    Relation::ForeignNamed,     "yyyyy", "-----"),
    (Role::OrgAdmin,    Relation::ForeignCommunity, "yy---", "-----"),
    (Role::OrgMember,   Relation::Own,              "yyyyy", "yyyyy"),
    (Role::OrgMember,   Relation::ForeignNamed,     "yyyyy", "-----"),
    (Role::OrgMember,   Relation::ForeignCommunity, "yy---", "-----"),
];

#[test]
fn every_role_tlp_and_relation() {
    // The table must cover every role with every relation.
    assert_eq!(TABLE.len(), Role::ALL.len() * 3);
    for role in Role::ALL {
        assert_eq!(TABLE.iter().filter(|row| row.0 == *role).count(), 3, "{role}");
    }
    for (role, relation, reads, writes) in TABLE {
        let caller = caller_with(*role);
        for (i, tlp) in Tlp::ALL.iter().enumerate() {
            let r = resource(&caller, *relation, *tlp);
            let expect_read = reads.as_bytes()[i] == b'y';
            let expect_write = writes.as_bytes()[i] == b'y';
            assert_eq!(decide(&caller, Action::Read, &r).allowed(), expect_read, "read: {role} {relation:?} {tlp}");
            assert_eq!(decide(&caller, Action::Write, &r).allowed(), expect_write, "write: {role} {relation:?} {tlp}");
        }
    }
}

#[test]
fn anonymous_sees_only_public_clear() {
    let anon = Caller::anonymous();
    for tlp in Tlp::ALL {
        for audience in [Audience::Public, Audience::Community, Audience::OwnOrg] {
            let public_clear = *tlp == Tlp::Clear && audience == Audience::Public;
            let r = Resource { owner_org: org(OWNER), tlp: *tlp, pap: Pap::Clear, audience };
            assert_eq!(decide(&anon, Action::Read, &r).allowed(), public_clear);
            assert!(!decide(&anon, Action::Write, &r).allowed());
        }
    }
}

#[test]
fn amber_reaches_a_recipients_clients_but_amber_strict_and_red_do_not() {
    let child = Caller {
        user_id: Some(org(200)),
        org_id: Some(org(20)),
        org_parent_id: Some(org(OTHER)),
        roles: vec![Role::OrgMember],
        sharing_groups: vec![],
        constituent: true,
    };
    let addressed_to_parent = |tlp| Resource { owner_org: org(OWNER), tlp, pap: Pap::Green, audience: Audience::Orgs(vec![org(OTHER)]) };
    assert!(decide(&child, Action::Read, &addressed_to_parent(Tlp::Green)).allowed());
    assert!(decide(&child, Action::Read, &addressed_to_parent(Tlp::Amber)).allowed());
    assert!(!decide(&child, Action::Read, &addressed_to_parent(Tlp::AmberStrict)).allowed());
    assert!(!decide(&child, Action::Read, &addressed_to_parent(Tlp::Red)).allowed());
}

#[test]
fn sharing_groups_carry_up_to_amber_strict() {
    let group = org(900);
    let mut member = caller_with(Role::OrgMember);
    let r = |tlp| Resource { owner_org: org(OWNER), tlp, pap: Pap::Green, audience: Audience::SharingGroup(group) };
    assert!(!decide(&member, Action::Read, &r(Tlp::Green)).allowed(), "not a member yet");
    member.sharing_groups.push(group);
    for tlp in [Tlp::Clear, Tlp::Green, Tlp::Amber, Tlp::AmberStrict] {
        assert!(decide(&member, Action::Read, &r(tlp)).allowed(), "{tlp}");
    }
    assert!(!decide(&member, Action::Read, &r(Tlp::Red)).allowed());
}

#[test]
fn pap_limits_active_use_to_the_owner() {
    let caller = caller_with(Role::OrgMember);
    for (pap, active) in [(Pap::Clear, true), (Pap::Green, true), (Pap::Amber, false), (Pap::Red, false)] {
        let r = Resource { owner_org: org(OWNER), tlp: Tlp::Green, pap, audience: Audience::Community };
        assert_eq!(decide(&caller, Action::ActActively, &r).allowed(), active, "{pap}");
        assert!(decide(&caller, Action::ActPassively, &r).allowed());
        let own = Resource { owner_org: caller.org_id.unwrap(), ..r };
        assert!(decide(&caller, Action::ActActively, &own).allowed());
    }
}

#[test]
fn administration_rights() {
    let admin = caller_with(Role::Admin);
    let org_admin = caller_with(Role::OrgAdmin);
    let auditor = caller_with(Role::Auditor);
    assert!(may_administer(&admin) && !may_administer(&org_admin) && !may_administer(&auditor));
    assert!(may_manage_users_of(&admin, org(OWNER)));
    assert!(may_manage_users_of(&org_admin, org(OTHER)));
    assert!(!may_manage_users_of(&org_admin, org(OWNER)));
    assert!(may_read_audit(&auditor) && !may_read_audit(&org_admin));
    assert!(may_read_metrics(&auditor) && !may_read_metrics(&org_admin));
}

#[test]
fn registry_rights_by_role() {
    // (role, read own registry, read another's, edit own contacts, edit another's, claim own, coordinate, route)
    let table = [
        (Role::Admin, true, true, true, true, false, true, true),
        (Role::Coordinator, true, true, true, true, false, true, true),
        (Role::Analyst, true, true, false, false, false, false, true),
        (Role::Auditor, true, true, false, false, false, false, true),
        (Role::OrgAdmin, true, false, true, false, true, false, false),
        (Role::OrgMember, true, false, false, false, false, false, false),
    ];
    for (role, read_own, read_other, edit_own, edit_other, claim_own, coordinate, route) in table {
        let c = caller_with(role);
        let own = c.org_id.unwrap();
        assert_eq!(may_read_registry_of(&c, own), read_own, "{role} reads its own");
        assert_eq!(may_read_registry_of(&c, org(OWNER)), read_other, "{role} reads another's");
        assert_eq!(may_edit_contacts_of(&c, own), edit_own, "{role} edits its own contacts");
        assert_eq!(may_edit_contacts_of(&c, org(OWNER)), edit_other, "{role} edits another's contacts");
        assert_eq!(may_claim_assets_of(&c, own), claim_own, "{role} claims for its own");
        assert!(!may_claim_assets_of(&c, org(OWNER)), "{role} never claims for another");
        assert_eq!(may_coordinate(&c), coordinate, "{role} coordinates");
        assert_eq!(may_route(&c), route, "{role} looks up responsibility");
    }
}

#[test]
fn the_constituency_reads_what_is_shared_with_it_and_peers_do_not() {
    let object = |tlp| Resource { owner_org: org(OWNER), tlp, pap: Pap::Green, audience: Audience::Constituency };
    let member = caller_with(Role::OrgMember);
    let peer = Caller { constituent: false, ..caller_with(Role::OrgMember) };
    let staff = caller_with(Role::Analyst);
    for (tlp, member_reads) in [(Tlp::Clear, true), (Tlp::Green, true), (Tlp::Amber, false), (Tlp::Red, false)] {
        assert_eq!(decide(&member, Action::Read, &object(tlp)).allowed(), member_reads, "{tlp:?}");
        assert!(!decide(&peer, Action::Read, &object(tlp)).allowed(), "a peer abroad is not the constituency: {tlp:?}");
        assert_eq!(decide(&staff, Action::Read, &object(tlp)).allowed(), tlp != Tlp::Red, "{tlp:?}");
    }
    assert!(!decide(&Caller::anonymous(), Action::Read, &object(Tlp::Clear)).allowed());
}
