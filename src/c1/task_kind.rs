//! The kinds of task C1 hands over: the bounded metric label of each, and which of them go
//! through the provisioning journal. The task files (`tasks/`) say which kind they parsed;
//! `status` decides from the kind whether a failure is retryable.

/// One per task type the connector knows, plus `Unsupported` for the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskKind {
    Hello,
    SyncFull,
    Grant,
    Revoke,
    CreateAccount,
    DeleteResource,
    CreateTicket,
    GetTicket,
    ListTicketSchemas,
    BulkCreateTickets,
    BulkGetTickets,
    ActionListSchemas,
    ActionGetSchema,
    ActionInvoke,
    ActionStatus,
    Unsupported,
}

impl TaskKind {
    pub const ALL: [TaskKind; 16] = [
        TaskKind::Hello,
        TaskKind::SyncFull,
        TaskKind::Grant,
        TaskKind::Revoke,
        TaskKind::CreateAccount,
        TaskKind::DeleteResource,
        TaskKind::CreateTicket,
        TaskKind::GetTicket,
        TaskKind::ListTicketSchemas,
        TaskKind::BulkCreateTickets,
        TaskKind::BulkGetTickets,
        TaskKind::ActionListSchemas,
        TaskKind::ActionGetSchema,
        TaskKind::ActionInvoke,
        TaskKind::ActionStatus,
        TaskKind::Unsupported,
    ];

    /// The bounded metric label (the task type's name in the SDK).
    pub fn label(self) -> &'static str {
        match self {
            TaskKind::Hello => "hello",
            TaskKind::SyncFull => "sync_full",
            TaskKind::Grant => "grant",
            TaskKind::Revoke => "revoke",
            TaskKind::CreateAccount => "create_account",
            TaskKind::DeleteResource => "delete_resource",
            TaskKind::CreateTicket => "create_ticket",
            TaskKind::GetTicket => "get_ticket",
            TaskKind::ListTicketSchemas => "list_ticket_schemas",
            TaskKind::BulkCreateTickets => "bulk_create_tickets",
            TaskKind::BulkGetTickets => "bulk_get_tickets",
            TaskKind::ActionListSchemas => "action_list_schemas",
            TaskKind::ActionGetSchema => "action_get_schema",
            TaskKind::ActionInvoke => "action_invoke",
            TaskKind::ActionStatus => "action_status",
            TaskKind::Unsupported => "unsupported",
        }
    }

    /// Kinds whose operation is journaled by provisioning, so that C1 hears of it exactly
    /// once (after a crash, the restarted link reports it).
    pub fn is_journaled(self) -> bool {
        matches!(
            self,
            TaskKind::Grant
                | TaskKind::Revoke
                | TaskKind::CreateAccount
                | TaskKind::DeleteResource
                | TaskKind::ActionInvoke
        )
    }
}

impl std::fmt::Display for TaskKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}
