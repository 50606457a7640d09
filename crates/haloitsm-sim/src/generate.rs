//! Seeded tenant generator: the same config always yields the same tenant.
//!
//! One `StdRng` drives everything in a fixed order, so adding a field to a record changes
//! only that field's values for a given seed if it draws last. Proportions aim at a
//! plausible service desk: ~5% of agents disabled, ~2% API-only, a few with no team, some in
//! several teams; ~5 team+role memberships per agent with the default maxima.

use rand::rngs::StdRng;
use rand::seq::index;
use rand::{Rng, RngCore, SeedableRng};

use crate::config::SimConfig;
use crate::dates;
use crate::error::SimError;
use crate::model::{
    FieldKind, SimAgent, SimField, SimRole, SimStatus, SimTeam, SimTicketType, SimUser, StatusKind,
};
use crate::tenant::Tenant;

const FIRST_NAMES: &[&str] = &[
    "Alice", "Bob", "Carla", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi",
    "Liam", "Maya", "Nikolai", "Olga", "Pavel", "Quinn", "Rosa", "Sam", "Tara", "Umar", "Vera",
    "Wei", "Ximena", "Yusuf", "Zoe", "Amara", "Bruno", "Chen", "Dana", "Emil", "Fatima",
];
const SURNAMES: &[&str] = &[
    "Adams", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Hughes", "Ito", "Jensen",
    "Kowalski", "Larsen", "Moreau", "Nakamura", "Okafor", "Patel", "Quist", "Rossi", "Schmidt",
    "Tanaka", "Ueda", "Varga", "Weber", "Xu", "Yilmaz", "Zhang", "Silva", "Novak", "Murphy", "Kim",
    "Lopez", "Singh",
];
const JOB_TITLES: &[&str] = &[
    "Service Desk Analyst",
    "Senior Engineer",
    "Network Engineer",
    "IT Manager",
    "Systems Administrator",
    "Security Analyst",
    "Field Technician",
    "Team Lead",
    "",
];
const TEAM_NAMES: &[&str] = &[
    "Service Desk",
    "Second Line",
    "Network",
    "Infrastructure",
    "Security",
    "Applications",
    "Field Services",
    "Change Advisory",
    "Database",
    "End User Computing",
];
const DEPARTMENTS: &[&str] = &["IT", "Facilities", "HR Systems", "Finance Systems"];
const ROLE_NAMES: &[&str] = &[
    "Administrator",
    "Agent",
    "Read Only",
    "Service Desk Manager",
    "Change Manager",
    "Reporting",
    "Knowledge Editor",
];
const CLIENTS: &[&str] = &["Acme Corp", "Globex", "Initech", "Umbrella"];
const TICKET_TYPE_NAMES: &[&str] = &[
    "Incident",
    "Service Request",
    "Access Request",
    "Change Request",
    "Problem",
];
/// 2025-01-01T00:00:00Z and the span of generated last-login times (21 months).
const LOGIN_FROM: i64 = 1_735_689_600;
const LOGIN_SPAN: i64 = 640 * 86_400;

/// Builds the tenant described by `cfg`. Fast enough for 100k agents / 1M memberships.
pub(crate) fn generate(cfg: &SimConfig) -> Result<Tenant, SimError> {
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let teams = gen_teams(&mut rng, cfg.teams);
    let roles = gen_roles(&mut rng, cfg.roles);
    let statuses = statuses();
    let ticket_types = ticket_types(cfg.ticket_types);
    let mut tenant = Tenant::new(
        teams.clone(),
        roles.clone(),
        ticket_types,
        statuses,
        cfg.agents,
    );
    gen_agents(&mut rng, cfg, &teams, &roles, &mut tenant)?;
    for u in gen_users(&mut rng, cfg.users) {
        tenant.push_user(u)?;
    }
    Ok(tenant)
}

fn gen_teams(rng: &mut StdRng, n: usize) -> Vec<SimTeam> {
    (1..=n as i64)
        .map(|id| {
            let dep = (id as usize - 1) % DEPARTMENTS.len();
            // The last team is always inactive so "hidden unless includedisabled" is testable
            // at every size; the rest are inactive at random (~5%).
            let inactive = (n >= 3 && id == n as i64) || rng.random_bool(0.05);
            SimTeam {
                id,
                name: TEAM_NAMES
                    .get(id as usize - 1)
                    .map_or_else(|| format!("Team {id}"), |s| (*s).to_owned()),
                inactive,
                department_id: dep as i64 + 1,
                department_name: DEPARTMENTS[dep].to_owned(),
            }
        })
        .collect()
}

/// GUIDs in the ASP.NET Identity shape (lowercase, hyphenated, version 4 bits set).
fn guid(rng: &mut StdRng) -> String {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn gen_roles(rng: &mut StdRng, n: usize) -> Vec<SimRole> {
    (1..=n as i64)
        .map(|id_int| SimRole {
            id: guid(rng),
            id_int,
            name: ROLE_NAMES
                .get(id_int as usize - 1)
                .map_or_else(|| format!("Role {id_int}"), |s| (*s).to_owned()),
        })
        .collect()
}

/// Exactly `round(n * pct)` distinct positions in `1..n` (position 0, agent 1, is the API
/// login agent and stays enabled), at least one once the tenant is big enough to matter.
fn pick(rng: &mut StdRng, n: usize, per_mille: usize) -> Vec<bool> {
    let mut marked = vec![false; n];
    if n < 2 {
        return marked;
    }
    let mut k = (n * per_mille + 500) / 1000;
    if n >= 20 {
        k = k.max(1);
    }
    for i in index::sample(rng, n - 1, k.min(n - 1)) {
        marked[i + 1] = true;
    }
    marked
}

fn gen_agents(
    rng: &mut StdRng,
    cfg: &SimConfig,
    teams: &[SimTeam],
    roles: &[SimRole],
    tenant: &mut Tenant,
) -> Result<(), SimError> {
    let n = cfg.agents;
    let disabled = pick(rng, n, 50);
    let api = pick(rng, n, 20);
    let max_teams = cfg.teams_per_agent.min(teams.len());
    let max_roles = cfg.roles_per_agent.min(roles.len());
    for i in 0..n {
        let id = i as i64 + 1;
        let first = FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())];
        let last = SURNAMES[rng.random_range(0..SURNAMES.len())];
        let (name, firstname, surname, email) = if api[i] {
            (
                format!("API - Integration {id}"),
                String::new(),
                String::new(),
                String::new(),
            )
        } else {
            let handle = format!("{}.{}{id}", first.to_lowercase(), last.to_lowercase());
            (
                format!("{first} {last}"),
                first.to_owned(),
                last.to_owned(),
                format!("{handle}@example.com"),
            )
        };
        let team_count = if max_teams == 0 || rng.random_bool(0.05) {
            0
        } else {
            rng.random_range(1..=max_teams)
        };
        let team_ids: Vec<i64> = index::sample(rng, teams.len(), team_count)
            .into_iter()
            .map(|t| teams[t].id)
            .collect();
        let managed_team_ids = team_ids
            .iter()
            .copied()
            .filter(|_| rng.random_bool(0.05))
            .collect();
        let role_count = if max_roles == 0 || rng.random_bool(0.02) {
            0
        } else {
            rng.random_range(1..=max_roles)
        };
        let role_ids = index::sample(rng, roles.len(), role_count)
            .into_iter()
            .map(|r| roles[r].id.clone())
            .collect();
        let last_login = (!api[i] && !rng.random_bool(0.1))
            .then(|| dates::format_unix(LOGIN_FROM + rng.random_range(0..LOGIN_SPAN)));
        let jobtitle = JOB_TITLES[rng.random_range(0..JOB_TITLES.len())].to_owned();
        let ad = if api[i] {
            String::new()
        } else {
            format!("ACME\\{}{}{id}", first.to_lowercase(), last.to_lowercase())
        };
        let agent = SimAgent {
            id,
            name,
            firstname,
            surname,
            email,
            jobtitle,
            disabled: disabled[i],
            api_agent: api[i],
            last_login,
            team: String::new(),
            ad,
            team_ids,
            managed_team_ids,
            role_ids,
        };
        tenant.insert_agent(agent)?;
    }
    Ok(())
}

fn gen_users(rng: &mut StdRng, n: usize) -> Vec<SimUser> {
    let inactive = pick(rng, n, 50);
    (0..n)
        .map(|i| {
            let id = i as i64 + 1;
            let first = FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())];
            let last = SURNAMES[rng.random_range(0..SURNAMES.len())];
            let client = rng.random_range(0..CLIENTS.len());
            let branch = rng.random_bool(0.3);
            let email = format!(
                "{}.{}{id}@{}.example",
                first.to_lowercase(),
                last.to_lowercase(),
                CLIENTS[client]
                    .split(' ')
                    .next()
                    .unwrap_or("client")
                    .to_lowercase()
            );
            SimUser {
                id,
                name: format!("{first} {last}"),
                firstname: first.to_owned(),
                surname: last.to_owned(),
                login: email.clone(),
                emailaddress: email,
                inactive: inactive[i],
                site_id: client as i64 * 2 + 1 + i64::from(branch),
                site_name: format!(
                    "{} {}",
                    CLIENTS[client],
                    if branch { "Branch" } else { "HQ" }
                ),
                client_id: client as i64 + 1,
                client_name: CLIENTS[client].to_owned(),
                isserviceaccount: rng.random_bool(0.01),
            }
        })
        .collect()
}

/// Halo's usual default statuses (ids as commonly seen; they are per-instance in real life).
fn statuses() -> Vec<SimStatus> {
    [
        (1, "New", "New", StatusKind::Open),
        (2, "In Progress", "InProg", StatusKind::Open),
        (3, "Waiting on User", "Wait", StatusKind::Pending),
        (4, "Resolved", "Res", StatusKind::Closed),
        (9, "Closed", "Closed", StatusKind::Closed),
        (28, "On Hold", "Hold", StatusKind::Pending),
    ]
    .into_iter()
    .enumerate()
    .map(|(seq, (id, name, short, kind))| SimStatus {
        id,
        name: name.into(),
        shortname: short.into(),
        kind,
        sequence: seq as i64 + 1,
    })
    .collect()
}

/// Every custom field kind on every type (the text field is mandatory on odd types, the
/// number field on even ones). "Access Request" also has a time field, which has no C1
/// equivalent; "Change Request" refuses API creates the way Halo's CAB-approval templates do;
/// every sixth type is hidden from agents.
fn ticket_types(n: usize) -> Vec<SimTicketType> {
    (1..=n as i64)
        .map(|id| {
            let mut kinds = vec![
                (FieldKind::Text, "CFRequestReason", "Reason for request"),
                (FieldKind::Number, "CFQuantity", "Quantity"),
                (FieldKind::Date, "CFNeededBy", "Needed by"),
                (FieldKind::Dropdown, "CFAccessLevel", "Access level"),
                (FieldKind::Checkbox, "CFManagerApproved", "Manager approved"),
                (FieldKind::Memo, "CFJustification", "Justification"),
                (FieldKind::MultiSelect, "CFSystems", "Systems"),
                (FieldKind::Decimal, "CFCost", "Cost"),
                (FieldKind::DateTime, "CFStartAt", "Start at"),
                (FieldKind::RichText, "CFNotes", "Notes"),
                (FieldKind::Text, "CFC1RequestKey", "C1 request key"),
            ];
            if id == 3 {
                kinds.push((FieldKind::Time, "CFPreferredTime", "Preferred time"));
            }
            let fields = kinds
                .into_iter()
                .enumerate()
                .map(|(k, (kind, name, label))| SimField {
                    id: 101 + k as i64,
                    name: name.into(),
                    label: label.into(),
                    kind,
                    values: match kind {
                        FieldKind::Dropdown => vec!["Read".into(), "Write".into(), "Admin".into()],
                        FieldKind::MultiSelect => {
                            vec!["VPN".into(), "Email".into(), "CRM".into(), "ERP".into()]
                        }
                        _ => Vec::new(),
                    },
                    mandatory: (kind == FieldKind::Text
                        && name == "CFRequestReason"
                        && id % 2 == 1)
                        || (kind == FieldKind::Number && id % 2 == 0),
                })
                .collect();
            // Every type can reach a closed status; odd types also allow the pending ones.
            let allowed_status = if id % 2 == 1 {
                vec![1, 2, 3, 4, 9, 28]
            } else {
                vec![1, 2, 4, 9]
            };
            SimTicketType {
                id,
                name: TICKET_TYPE_NAMES
                    .get(id as usize - 1)
                    .map_or_else(|| format!("Ticket Type {id}"), |s| (*s).to_owned()),
                group_id: 1,
                visible: true,
                initial_status: 1,
                allowed_status,
                fields,
                agents_can_select: id % 6 != 0,
                create_rejection: (id == 4)
                    .then(|| "CODE:APP03/2 Please select the CAB members to approve".to_owned()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_tenant_has_the_advertised_shape() {
        let cfg = SimConfig {
            agents: 1000,
            ..SimConfig::default()
        };
        let s = generate(&cfg).unwrap().snapshot();
        assert_eq!(s.agents.len(), 1000);
        assert_eq!(s.agents.iter().filter(|a| a.disabled).count(), 50);
        assert_eq!(s.agents.iter().filter(|a| a.api_agent).count(), 20);
        assert!(s.agents.iter().any(|a| a.team_ids.is_empty()));
        assert!(s.agents.iter().any(|a| a.team_ids.len() > 1));
        let per_agent = s.membership_rows() as f64 / 1000.0;
        assert!((4.0..6.0).contains(&per_agent), "{per_agent}");
        assert!(s.teams.last().unwrap().inactive);
        assert_eq!(s.roles[0].id.len(), 36);
        assert!(!s.agents[0].disabled && !s.agents[0].api_agent);
    }
}
