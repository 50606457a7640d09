//! Query parameters as Halo reads them. Its own file because the API handlers and the
//! token endpoint (`auth`) both read them, and the handlers call the token endpoint.

use std::collections::HashMap;

/// Query parameters with lower-cased names (ASP.NET binds them case-insensitively).
/// Unknown parameters are kept but never looked at, which is Halo's "silently ignored".
#[derive(Debug, Default)]
pub(crate) struct QueryParams(HashMap<String, String>);

impl QueryParams {
    pub(crate) fn parse(raw: &str) -> Self {
        let mut map = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
            // First occurrence wins, like ASP.NET's scalar binding.
            map.entry(k.to_ascii_lowercase())
                .or_insert_with(|| v.into_owned());
        }
        Self(map)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A boolean switch; anything but `true`/`1` (any case) is false.
    pub(crate) fn flag(&self, name: &str) -> bool {
        self.flag_or(name, false)
    }

    /// Like `flag`, but absent or unparsable values give `default`.
    pub(crate) fn flag_or(&self, name: &str, default: bool) -> bool {
        match self.get(name).map(str::trim) {
            Some(v) if v.eq_ignore_ascii_case("true") || v == "1" => true,
            Some(v) if v.eq_ignore_ascii_case("false") || v == "0" => false,
            _ => default,
        }
    }

    /// An integer; unparsable values count as absent rather than failing the request.
    pub(crate) fn int(&self, name: &str) -> Option<i64> {
        self.get(name)?.trim().parse().ok()
    }
}
