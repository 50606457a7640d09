//! HaloITSM client: TokenManager, ApiGateway, endpoints (issue #4).
