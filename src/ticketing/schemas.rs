//! The schema operations of [`Ticketing`]: list and get C1 ticket schemas, built by
//! `schema.rs` from the selected Halo ticket types (cached) and Halo's statuses.

use std::time::Instant;

use super::{Error, Result, Ticketing, counted, parse_id, schema};
use crate::halo::{Status, TicketType};
use crate::pb;
use crate::telemetry::tickets as events;

/// Largest schema page C1 may ask for (the proto's limit).
pub const MAX_SCHEMA_PAGE: u32 = 250;
const DEFAULT_SCHEMA_PAGE: u32 = 100;
const TOKEN_PREFIX: &str = "ht1:";

impl Ticketing {
    /// One page of schemas. `page_size` 0 means the default; at most 250. The token is
    /// opaque; an empty next token means the last page.
    pub async fn list_schemas(
        &self,
        page_size: u32,
        page_token: &str,
    ) -> Result<(Vec<pb::TicketSchema>, String)> {
        counted("list_schemas", async {
            if page_size > MAX_SCHEMA_PAGE {
                return Err(Error::invalid(format!(
                    "page_size: at most {MAX_SCHEMA_PAGE}, got {page_size}"
                )));
            }
            let size = if page_size == 0 {
                DEFAULT_SCHEMA_PAGE
            } else {
                page_size
            } as usize;
            let offset = parse_token(page_token)?;
            let types = self.selected_types().await?;
            let statuses = self.statuses().await?;
            let mut out = Vec::new();
            for t in types.iter().skip(offset).take(size) {
                out.push(self.schema_of(t.id, &statuses).await?);
            }
            let next = offset + out.len();
            let token = if next < types.len() && !out.is_empty() {
                format!("{TOKEN_PREFIX}{next}")
            } else {
                String::new()
            };
            Ok((out, token))
        })
        .await
    }

    /// One schema by id (a ticket type id); not found unless the type is selectable and
    /// included.
    pub async fn get_schema(&self, id: &str) -> Result<pb::TicketSchema> {
        counted("get_schema", self.schema_by_id(id)).await
    }

    /// [`Ticketing::get_schema`] uncounted, for a create's check against Halo's current
    /// definition.
    pub(super) async fn schema_by_id(&self, id: &str) -> Result<pb::TicketSchema> {
        let type_id = parse_id("schema id", id)?;
        let types = self.selected_types().await?;
        if !types.iter().any(|t| t.id == type_id) {
            return Err(Error::not_found(format!("ticket schema `{id}` not found")));
        }
        let statuses = self.statuses().await?;
        self.schema_of(type_id, &statuses).await
    }

    async fn selected_types(&self) -> Result<Vec<TicketType>> {
        let now = Instant::now();
        let all = match self.inner.cache.types(now) {
            Some(t) => t,
            None => {
                let t = self.inner.client.ticket_types().await?;
                self.inner.cache.put_types(t.clone(), now);
                t
            }
        };
        let mut types: Vec<_> = all
            .into_iter()
            .filter(|t| schema::selected(t, &self.inner.settings.include_types))
            .collect();
        types.sort_by_key(|t| t.id);
        Ok(types)
    }

    async fn detail(&self, type_id: i64) -> Result<TicketType> {
        let now = Instant::now();
        if let Some(d) = self.inner.cache.detail(type_id, now) {
            return Ok(d);
        }
        let d = self.inner.client.ticket_type(type_id).await?;
        self.inner.cache.put_detail(d.clone(), now);
        Ok(d)
    }

    /// The schema of one ticket type; reads use it to type a ticket's fields.
    pub(super) async fn schema_of(
        &self,
        type_id: i64,
        statuses: &[Status],
    ) -> Result<pb::TicketSchema> {
        let detail = self.detail(type_id).await?;
        let cache = &self.inner.cache;
        let skip = self.inner.settings.request_key_custom_field();
        Ok(schema::build(&detail, statuses, skip, |field, why| {
            if cache.first_report(type_id, field) {
                events::field_unmappable(type_id, field, &why.0);
            }
        }))
    }
}

fn parse_token(token: &str) -> Result<usize> {
    if token.is_empty() {
        return Ok(0);
    }
    token
        .strip_prefix(TOKEN_PREFIX)
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| Error::invalid("page_token: not a token this connector issued"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ticketing::ErrorKind;

    #[test]
    fn tokens_and_ids() {
        assert_eq!(parse_token("").unwrap(), 0);
        assert_eq!(parse_token("ht1:40").unwrap(), 40);
        assert_eq!(
            parse_token("40").unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        assert!(parse_id("x", "0").is_err() && parse_id("x", "abc").is_err());
        assert_eq!(parse_id("x", " 12 ").unwrap(), 12);
    }
}
