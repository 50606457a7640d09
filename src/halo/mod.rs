//! HaloITSM client: TokenManager, ApiGateway, endpoints (issue #4).
//!
//! Layers, bottom up:
//! - [`lane::Lane`]: the two queues (bulk, priority) of the one budget;
//! - [`token_manager::TokenManager`] (actor) owns the OAuth token;
//! - [`rate_budget::RateBudget`] (created once per process) holds pacing, the
//!   in-flight cap and 429 pauses, shared by the two actors and by restarts;
//! - [`api_gateway::ApiGateway`] (actor) owns the API HTTP client, retries,
//!   and classifies every failure into [`Error`];
//! - [`endpoints::HaloClient`] is a cloneable handle with one typed function
//!   per endpoint, over the single paging helper in [`paging`].
//!
//! [`start`] wires both actors into the current actix System; a supervisor can
//! instead build them with `TokenManager::new`, `ApiGateway::new` and
//! `HaloClient::new`, and swap the addresses inside the `Slot`s on restart.

use std::sync::Arc;

use actix::Actor;

use crate::actor_slot::Slot;

pub mod api_gateway;
pub mod body;
pub mod endpoints;
pub mod error;
pub mod lane;
pub mod model;
pub mod outcome;
pub mod paging;
pub mod rate_budget;
pub mod settings;
pub mod token_manager;

pub use api_gateway::{ApiGateway, HaloRequest, HaloResponse};
pub use endpoints::HaloClient;
pub use error::{Error, ErrorKind, Result};
pub use lane::Lane;
pub use model::*;
pub use rate_budget::RateBudget;
pub use settings::HaloSettings;
pub use token_manager::{AccessToken, GetToken, InvalidateToken, TokenManager};

/// Start the TokenManager and the ApiGateway in the current actix System and
/// return the client. Must be called from inside a System (`#[actix::main]`,
/// `#[actix::test]`).
pub fn start(settings: HaloSettings) -> HaloClient {
    let settings = Arc::new(settings);
    let budget = Arc::new(RateBudget::new(&settings));
    let tokens = Slot::new(TokenManager::new(settings.clone(), budget.clone()).start());
    let gateway = Slot::new(ApiGateway::new(settings.clone(), tokens, budget).start());
    HaloClient::new(gateway).with_page_size(settings.page_size)
}
