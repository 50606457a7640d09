//! The simulated tenant's data and the only code that changes it.
//!
//! Agents and end users live in `PagedTable`s so offset paging stays O(page). Team membership
//! is also indexed team → agents, so `GET /api/Team/{id}?includeagents=true` never scans agents.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::dates;
use crate::error::SimError;
use crate::model::{
    SimAction, SimAgent, SimRole, SimStatus, SimTeam, SimTicket, SimTicketType, SimUser,
    StatusKind, TenantSnapshot,
};
use crate::table::{ClassMask, PagedTable};

/// Agent row class bits: which `GET /api/Agent` filters hide the row.
const AGENT_DISABLED: u8 = 1;
const AGENT_API: u8 = 2;
/// User row class bit.
const USER_INACTIVE: u8 = 1;

fn agent_class(a: &SimAgent) -> u8 {
    (if a.disabled { AGENT_DISABLED } else { 0 }) | (if a.api_agent { AGENT_API } else { 0 })
}

pub(crate) fn agent_mask(enabled: bool, disabled: bool, api: bool) -> ClassMask {
    ClassMask::from_fn(|c| {
        let ok_state = if c & AGENT_DISABLED != 0 {
            disabled
        } else {
            enabled
        };
        ok_state && (c & AGENT_API == 0 || api)
    })
}

pub(crate) fn user_mask(active: bool, inactive: bool) -> ClassMask {
    ClassMask::from_fn(|c| {
        if c & USER_INACTIVE != 0 {
            inactive
        } else {
            active
        }
    })
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Tenant {
    pub agents: PagedTable<SimAgent>,
    next_agent_id: i64,
    teams: Vec<SimTeam>,
    team_index: HashMap<i64, usize>,
    roles: Vec<SimRole>,
    role_index: HashMap<String, usize>,
    team_members: HashMap<i64, BTreeSet<i64>>,
    pub users: PagedTable<SimUser>,
    pub ticket_types: Vec<SimTicketType>,
    pub statuses: Vec<SimStatus>,
    tickets: BTreeMap<i64, SimTicket>,
    next_ticket_id: i64,
    actions: Vec<SimAction>,
}

/// What a ticket create needs besides the type and summary (validated by the API layer).
pub(crate) struct NewTicket {
    pub tickettype_id: i64,
    pub summary: String,
    pub details: String,
    pub user_id: Option<i64>,
    pub client_id: Option<i64>,
    pub agent_id: Option<i64>,
    pub team: Option<String>,
    pub priority_id: Option<i64>,
    pub category_1: Option<String>,
    pub customfields: Vec<crate::model::SimCustomValue>,
}

pub(crate) struct NewAction {
    pub ticket_id: i64,
    pub note: String,
    pub outcome: String,
    pub new_status: Option<i64>,
    pub hiddenfromuser: bool,
}

impl Tenant {
    pub(crate) fn new(
        teams: Vec<SimTeam>,
        roles: Vec<SimRole>,
        ticket_types: Vec<SimTicketType>,
        statuses: Vec<SimStatus>,
        agent_capacity: usize,
    ) -> Self {
        let team_index = teams.iter().enumerate().map(|(i, t)| (t.id, i)).collect();
        let role_index = roles
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.clone(), i))
            .collect();
        Self {
            agents: PagedTable::with_capacity(agent_capacity),
            next_agent_id: 1,
            teams,
            team_index,
            roles,
            role_index,
            team_members: HashMap::new(),
            users: PagedTable::default(),
            ticket_types,
            statuses,
            tickets: BTreeMap::new(),
            next_ticket_id: 1,
            actions: Vec::new(),
        }
    }

    // ---- reference data -------------------------------------------------------------------

    pub(crate) fn teams(&self) -> &[SimTeam] {
        &self.teams
    }

    pub(crate) fn team(&self, id: i64) -> Option<&SimTeam> {
        self.team_index.get(&id).map(|&i| &self.teams[i])
    }

    pub(crate) fn team_by_name(&self, name: &str) -> Option<&SimTeam> {
        self.teams
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(name))
    }

    pub(crate) fn roles(&self) -> &[SimRole] {
        &self.roles
    }

    /// By GUID (case-insensitive, as .NET compares Guids) or by `id_int`.
    pub(crate) fn role(&self, key: &str) -> Option<&SimRole> {
        if let Some(&i) = self.role_index.get(key) {
            return Some(&self.roles[i]);
        }
        let lower = key.to_ascii_lowercase();
        if let Some(&i) = self.role_index.get(&lower) {
            return Some(&self.roles[i]);
        }
        let n: i64 = key.parse().ok()?;
        self.roles.iter().find(|r| r.id_int == n)
    }

    pub(crate) fn ticket_type(&self, id: i64) -> Option<&SimTicketType> {
        self.ticket_types.iter().find(|t| t.id == id)
    }

    pub(crate) fn status(&self, id: i64) -> Option<&SimStatus> {
        self.statuses.iter().find(|s| s.id == id)
    }

    // ---- agents ---------------------------------------------------------------------------

    pub(crate) fn agent(&self, id: i64) -> Option<&SimAgent> {
        self.agents.get(id)
    }

    pub(crate) fn user(&self, id: i64) -> Option<&SimUser> {
        self.users.get(id)
    }

    /// Agent ids in a team, ascending.
    pub(crate) fn team_members(&self, team_id: i64) -> impl Iterator<Item = i64> + '_ {
        self.team_members
            .get(&team_id)
            .into_iter()
            .flat_map(|s| s.iter().copied())
    }

    /// Checks and tidies an agent before it is stored: known teams and roles, no duplicates,
    /// managers only of their own teams, default team name filled in.
    fn normalize(&self, a: &mut SimAgent) -> Result<(), SimError> {
        if a.name.trim().is_empty() {
            return Err(SimError::MissingName);
        }
        dedup_in_order(&mut a.team_ids);
        dedup_in_order(&mut a.role_ids);
        if let Some(&bad) = a.team_ids.iter().find(|t| self.team(**t).is_none()) {
            return Err(SimError::UnknownTeam(bad));
        }
        for r in &mut a.role_ids {
            match self.role(r) {
                Some(role) => r.clone_from(&role.id),
                None => return Err(SimError::UnknownRole(r.clone())),
            }
        }
        dedup_in_order(&mut a.role_ids);
        a.managed_team_ids.retain(|t| a.team_ids.contains(t));
        dedup_in_order(&mut a.managed_team_ids);
        if a.team.is_empty()
            && let Some(first) = a.team_ids.first().and_then(|t| self.team(*t))
        {
            a.team.clone_from(&first.name);
        }
        Ok(())
    }

    /// Stores a new agent with the next free id (the given `id` is ignored).
    pub(crate) fn insert_agent(&mut self, mut a: SimAgent) -> Result<i64, SimError> {
        self.normalize(&mut a)?;
        let id = self
            .next_agent_id
            .max(self.agents.last_id().unwrap_or(0) + 1);
        a.id = id;
        self.index_memberships(&a, true);
        let class = agent_class(&a);
        self.agents
            .push(id, class, a)
            .map_err(|e| SimError::InvalidConfig(e.to_string()))?;
        self.next_agent_id = id + 1;
        Ok(id)
    }

    /// Replaces an existing agent wholesale (upserts build the merged record first).
    pub(crate) fn replace_agent(&mut self, mut a: SimAgent) -> Result<(), SimError> {
        self.normalize(&mut a)?;
        let Some(old) = self.agents.get(a.id).cloned() else {
            return Err(SimError::InvalidConfig(format!("agent {} not found", a.id)));
        };
        self.index_memberships(&old, false);
        self.index_memberships(&a, true);
        let (id, class) = (a.id, agent_class(&a));
        if let Some(slot) = self.agents.get_mut(id) {
            *slot = a;
        }
        self.agents.set_class(id, class);
        Ok(())
    }

    pub(crate) fn delete_agent(&mut self, id: i64) -> Option<SimAgent> {
        let a = self.agents.remove(id)?;
        self.index_memberships(&a, false);
        Some(a)
    }

    fn index_memberships(&mut self, a: &SimAgent, add: bool) {
        for t in &a.team_ids {
            let set = self.team_members.entry(*t).or_default();
            if add {
                set.insert(a.id);
            } else {
                set.remove(&a.id);
            }
        }
    }

    // ---- end users ------------------------------------------------------------------------

    pub(crate) fn push_user(&mut self, u: SimUser) -> Result<(), SimError> {
        let class = if u.inactive { USER_INACTIVE } else { 0 };
        self.users
            .push(u.id, class, u)
            .map_err(|e| SimError::InvalidConfig(e.to_string()))
    }

    // ---- tickets --------------------------------------------------------------------------

    pub(crate) fn ticket(&self, id: i64) -> Option<&SimTicket> {
        self.tickets.get(&id)
    }

    /// Every ticket, by id.
    pub(crate) fn tickets(&self) -> impl Iterator<Item = &SimTicket> {
        self.tickets.values()
    }

    /// The API layer has checked the ticket type exists.
    pub(crate) fn create_ticket(&mut self, t: NewTicket) -> &SimTicket {
        let status_id = self
            .ticket_type(t.tickettype_id)
            .map(|tt| tt.initial_status)
            .unwrap_or(1);
        let id = self.next_ticket_id;
        self.next_ticket_id += 1;
        let ticket = SimTicket {
            id,
            tickettype_id: t.tickettype_id,
            summary: t.summary,
            details: t.details,
            status_id,
            user_id: t.user_id,
            client_id: t.client_id,
            agent_id: t.agent_id,
            team: t.team,
            priority_id: t.priority_id,
            category_1: t.category_1,
            customfields: t.customfields,
            dateoccurred: dates::now(),
            hasbeenclosed: false,
            dateclosed: None,
            lastactiondate: None,
        };
        self.tickets.entry(id).or_insert(ticket)
    }

    /// The API layer has checked the ticket and the new status exist.
    pub(crate) fn add_action(&mut self, a: NewAction) -> &SimAction {
        let now = dates::now();
        let closing = a
            .new_status
            .and_then(|s| self.status(s))
            .map(|s| s.kind == StatusKind::Closed);
        if let Some(ticket) = self.tickets.get_mut(&a.ticket_id) {
            ticket.lastactiondate = Some(now.clone());
        }
        if let (Some(ticket), Some(status)) = (self.tickets.get_mut(&a.ticket_id), a.new_status) {
            ticket.status_id = status;
            match closing {
                Some(true) => {
                    ticket.hasbeenclosed = true;
                    ticket.dateclosed = Some(now.clone());
                }
                // Reopening keeps `hasbeenclosed` (it records history) but clears the close date.
                Some(false) => ticket.dateclosed = None,
                None => {}
            }
        }
        let id = self.actions.len() as i64 + 1;
        self.actions.push(SimAction {
            id,
            ticket_id: a.ticket_id,
            note: a.note,
            outcome: a.outcome,
            new_status: a.new_status,
            hiddenfromuser: a.hiddenfromuser,
            datetime: now,
        });
        &self.actions[self.actions.len() - 1]
    }

    // ---- inspection -----------------------------------------------------------------------

    pub(crate) fn snapshot(&self) -> TenantSnapshot {
        let all_agents = agent_mask(true, true, true);
        let all_users = user_mask(true, true);
        TenantSnapshot {
            agents: self.agents.iter(all_agents).cloned().collect(),
            teams: self.teams.clone(),
            roles: self.roles.clone(),
            users: self.users.iter(all_users).cloned().collect(),
            ticket_types: self.ticket_types.clone(),
            statuses: self.statuses.clone(),
            tickets: self.tickets.values().cloned().collect(),
            actions: self.actions.clone(),
        }
    }
}

/// Keeps the first occurrence of each element. Lists are usually a handful of teams or roles,
/// where a quadratic scan beats hashing; long client-posted lists switch to a set.
fn dedup_in_order<T: PartialEq + Eq + std::hash::Hash + Clone>(v: &mut Vec<T>) {
    if v.len() > 32 {
        let mut seen = std::collections::HashSet::with_capacity(v.len());
        v.retain(|x| seen.insert(x.clone()));
        return;
    }
    let mut i = 0;
    while i < v.len() {
        if v[..i].contains(&v[i]) {
            v.remove(i);
        } else {
            i += 1;
        }
    }
}
