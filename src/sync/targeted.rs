//! Targeted sync: the few resources C1 named, each read on its own, with its
//! entitlements and grants. C1 sends this mostly to confirm a change it just
//! made, so every read waits in the gateway's priority lane, ahead of paging.
//!
//! Requests per target (the fewest Halo allows):
//! - agent: `GET /api/Agent/{id}?includedetails=true` (1), whose teams and roles
//!   are its grants;
//! - team: `GET /api/Team/{id}?includeagents=true` (1), whose members are its grants;
//! - role: `GET /api/Roles/{id}` (1), then its holders from
//!   `GET /api/Agent?role=<id_int>` (ceil(holders/100) pages). Halo's `role`
//!   filter is unverified, so only rows that do hold the role become grants; if
//!   Halo ignores it the answer stays right and costs a full agent listing;
//! - end user: `GET /api/Users/{id}` (1).
//!
//! Many agent targets: past [`AGENT_LIST_THRESHOLD`] agents, the first page of the
//! agent list (which tells the tenant's size) decides whether paging the whole
//! list is cheaper than one read per agent, and takes the cheaper path. A target
//! the listing did not show (deleted, or skipped by shifting offsets) is then
//! read on its own, so the answer is the same either way. That is also why the
//! listing's order (`sync.agent_order`, newest first by default) does not matter
//! here, and a Halo ignoring it is not warned about by a targeted sync.
//!
//! A target Halo no longer has (404) is skipped with a warning and the sync goes
//! on, as baton-sdk's syncer skips a NotFound from `GetResource`. Any other
//! failure fails the sync with the resource named; nothing is published.
//! Rows come from the same mapping code as the full sync.

use std::collections::HashSet;

use futures::{StreamExt, TryStreamExt};

use super::mapping::{self, EntitlementRef};
use super::syncer::{SyncError, SyncRun};
use crate::c1z::snapshot_writer::Rows;
use crate::contract::ids::{
    self, ROLE_ASSIGNED_SLUG, ResourceRef, TEAM_MEMBER_SLUG, entitlement_id,
};
use crate::halo::{self, ErrorKind, HaloClient, Lane};
use crate::pb;

/// Reads in flight at once: enough to keep the priority lane busy when C1 names
/// many resources; the gateway's budget paces them anyway.
const CONCURRENT_READS: usize = 8;

/// Past this many agent targets, listing every agent may cost fewer requests.
pub const AGENT_LIST_THRESHOLD: usize = 100;

/// What a targeted sync wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TargetsSynced {
    pub found: u64,
    pub not_found: u64,
}

/// The rows of one target, or `None` when Halo no longer has it.
type Read = Option<(Vec<pb::Resource>, Vec<pb::Entitlement>, Vec<pb::Grant>)>;

/// Reads every target of `run.plan` and writes its rows.
pub async fn sync_targets(
    run: &SyncRun,
    include_end_users: bool,
) -> Result<TargetsSynced, SyncError> {
    let client = run.client.clone().with_lane(Lane::Priority);
    let mut targets = run.plan.targets().to_vec();
    let mut done = TargetsSynced::default();
    let agents: HashSet<i64> = targets
        .iter()
        .filter_map(|t| match t {
            ResourceRef::Agent(id) => Some(*id),
            _ => None,
        })
        .collect();
    if agents.len() > AGENT_LIST_THRESHOLD {
        let listed = list_agents(run, &client, &agents, &mut done).await?;
        targets.retain(|t| !matches!(t, ResourceRef::Agent(id) if listed.contains(id)));
    }
    let mut reads = futures::stream::iter(targets)
        .map(|target| {
            let client = client.clone();
            async move {
                read(&client, &target, include_end_users)
                    .await
                    .map_err(|source| SyncError::Target {
                        resource: target.to_string(),
                        source,
                    })
                    .map(|rows| (target, rows))
            }
        })
        .buffered(CONCURRENT_READS);
    while let Some((target, rows)) = reads.try_next().await? {
        run.cancel.check()?;
        let Some((resources, entitlements, grants)) = rows else {
            done.not_found += 1;
            tracing::warn!(sync_id = %run.sync_id, resource = %target, "skipping targeted resource: halo has no such resource (404)");
            continue;
        };
        done.found += 1;
        run.write(Rows::Resources(resources)).await?;
        run.write(Rows::Entitlements(entitlements)).await?;
        run.write(Rows::Grants(grants)).await?;
    }
    tracing::info!(sync_id = %run.sync_id, found = done.found, not_found = done.not_found, "targeted resources synced");
    Ok(done)
}

/// Pages the agent list if that costs fewer requests than reading `wanted` one
/// by one (the first page's `record_count` tells), writing the wanted agents it
/// sees. Answers the ids it wrote; the caller reads the rest on their own.
async fn list_agents(
    run: &SyncRun,
    client: &HaloClient,
    wanted: &HashSet<i64>,
    done: &mut TargetsSynced,
) -> Result<HashSet<i64>, SyncError> {
    let mut seen = HashSet::new();
    let mut pages = std::pin::pin!(client.agent_pages());
    let mut first = true;
    while let Some(page) = pages.next().await {
        run.cancel.check()?;
        let page = page.map_err(|source| SyncError::Target {
            resource: format!("{} agents (listed)", wanted.len()),
            source,
        })?;
        if first {
            first = false;
            let pages_needed = page
                .record_count
                .map_or(u64::MAX, |n| n.div_ceil(page.rows.len().max(1) as u64));
            if pages_needed >= wanted.len() as u64 {
                return Ok(seen);
            }
            tracing::info!(sync_id = %run.sync_id, targets = wanted.len(), pages = pages_needed, "many agent targets: listing the agents is cheaper than reading each");
        }
        let mut resources = Vec::new();
        let mut grants = Vec::new();
        for agent in page.rows.iter().filter(|a| wanted.contains(&a.id)) {
            if seen.insert(agent.id) {
                let (r, _, g) = agent_rows(agent);
                resources.extend(r);
                grants.extend(g);
            }
        }
        run.write(Rows::Resources(resources)).await?;
        run.write(Rows::Grants(grants)).await?;
    }
    done.found += seen.len() as u64;
    Ok(seen)
}

async fn read(
    client: &HaloClient,
    target: &ResourceRef,
    include_end_users: bool,
) -> halo::Result<Read> {
    let found = match target {
        ResourceRef::Agent(id) => client.get_agent(*id).await.map(|a| agent_rows(&a)),
        ResourceRef::Team(id) => match client.get_team(*id).await {
            Ok((team, members)) => team_rows(&team, members),
            Err(e) => Err(e),
        },
        ResourceRef::Role(guid) => match client.get_role(guid).await {
            Ok(role) => role_rows(client, &role).await,
            Err(e) => Err(e),
        },
        ResourceRef::User(id) if include_end_users => client
            .get_user(*id)
            .await
            .map(|u| (vec![mapping::end_user_resource(&u)], vec![], vec![])),
        // Not a type this connector syncs: the SDK skips an Unimplemented get the same way.
        ResourceRef::User(_) => return Ok(None),
    };
    match found {
        Ok(rows) => Ok(Some(rows)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The entitlement a grant points at, from what the principal's row says about it.
fn entitlement_ref(
    resource_type: &str,
    id: &str,
    slug: &str,
    display_name: &str,
) -> EntitlementRef {
    EntitlementRef {
        id: entitlement_id(resource_type, id, slug),
        resource_id: pb::ResourceId {
            resource_type: resource_type.to_string(),
            resource: id.to_string(),
            ..Default::default()
        },
        resource_display_name: display_name.to_string(),
    }
}

/// An agent and the grants its teams and roles make.
fn agent_rows(a: &halo::model::Agent) -> (Vec<pb::Resource>, Vec<pb::Entitlement>, Vec<pb::Grant>) {
    let teams = a.teams.iter().map(|m| {
        let e = entitlement_ref(
            ids::TEAM.id,
            &m.team_id.to_string(),
            TEAM_MEMBER_SLUG,
            &m.team_name,
        );
        mapping::agent_grant(&e, a.id)
    });
    let roles = a.roles.iter().map(|r| {
        let e = entitlement_ref(ids::ROLE.id, &r.id, ROLE_ASSIGNED_SLUG, &r.name);
        mapping::agent_grant(&e, a.id)
    });
    (
        vec![mapping::agent_resource(a)],
        vec![],
        teams.chain(roles).collect(),
    )
}

/// A team, its member entitlement and one grant per member.
fn team_rows(
    team: &halo::model::Team,
    members: halo::model::TeamMembers,
) -> halo::Result<(Vec<pb::Resource>, Vec<pb::Entitlement>, Vec<pb::Grant>)> {
    // No `agents` array is "unknown", never "no members": C1 would read it as revoked access.
    let rows = members.agents.ok_or_else(|| {
        halo::Error::new(
            ErrorKind::Protocol,
            "team has no `agents` list (includeagents ignored?)",
        )
        .with_endpoint(halo::endpoints::routes::TEAM)
    })?;
    let resource = mapping::team_resource(team);
    let entitlement = mapping::team_entitlement(&resource);
    let e = EntitlementRef::of(&entitlement);
    let mut grants = Vec::with_capacity(rows.len());
    for row in &rows {
        let agent = row.agent_id();
        if agent <= 0 {
            return Err(halo::Error::new(
                ErrorKind::Protocol,
                format!("team {} has a member row without an agent id", team.id),
            )
            .with_endpoint(halo::endpoints::routes::TEAM));
        }
        grants.push(mapping::agent_grant(&e, agent));
    }
    Ok((vec![resource], vec![entitlement], grants))
}

/// A role, its entitlement and one grant per holder.
async fn role_rows(
    client: &HaloClient,
    role: &halo::model::Role,
) -> halo::Result<(Vec<pb::Resource>, Vec<pb::Entitlement>, Vec<pb::Grant>)> {
    let resource = mapping::role_resource(role);
    let entitlement = mapping::role_entitlement(&resource);
    let e = EntitlementRef::of(&entitlement);
    let mut grants = Vec::new();
    let mut strangers = 0u64;
    let mut pages = std::pin::pin!(client.agents_with_role(role.id_int));
    while let Some(page) = pages.next().await {
        for agent in page? {
            if agent.roles.iter().any(|r| r.id == role.id) {
                grants.push(mapping::agent_grant(&e, agent.id));
            } else {
                strangers += 1;
            }
        }
    }
    if strangers > 0 {
        tracing::warn!(role = %role.id, ignored = strangers, "halo's role filter returned agents without the role; they were left out (filter ignored?)");
    }
    Ok((vec![resource], vec![entitlement], grants))
}
