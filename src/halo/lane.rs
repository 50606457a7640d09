//! The two queues of the one rate budget, in a file of its own because the
//! gateway, the budget and the token manager all name it (and the gateway
//! imports the other two).

/// Which queue a request waits in for its share of the one rate budget.
/// `Priority` (provisioning, ticketing, token requests) goes ahead of `Bulk`
/// (sync paging), so a grant never waits behind a long sync; bulk requests
/// only yield their turn, they are never dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lane {
    #[default]
    Bulk,
    Priority,
}
