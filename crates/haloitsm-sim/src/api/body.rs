//! Reading Halo's JSON array bodies field by field, so every type error names its field path
//! (`[0].name`) the way ASP.NET model binding does. Nothing here trusts the client.

use serde_json::{Map, Value};

use super::error::ApiError;

/// The elements of a write body. Halo documents an array; a bare object is accepted too
/// because clients in the wild post one and report it works (docs/reference/haloitsm-api.md §2).
pub(crate) fn elements(body: &[u8]) -> Result<Vec<Map<String, Value>>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::field(
            "$",
            "A non-empty request body is required.",
        ));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::field("$", format!("The JSON value is malformed: {e}")))?;
    match value {
        Value::Object(m) => Ok(vec![m]),
        Value::Array(items) => {
            if items.is_empty() {
                return Err(ApiError::field("$", "At least one element is required."));
            }
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::Object(m) => Ok(m),
                    _ => Err(not_convertible(&format!("[{i}]"), "an object")),
                })
                .collect()
        }
        _ => Err(not_convertible("$", "an array")),
    }
}

fn not_convertible(path: &str, ty: &str) -> ApiError {
    ApiError::field(
        path,
        format!("The JSON value could not be converted to {ty}. Path: $.{path}"),
    )
}

/// One JSON object in a body, with the path used in error keys.
pub(crate) struct Fields<'a> {
    obj: &'a Map<String, Value>,
    path: String,
}

impl<'a> Fields<'a> {
    /// The `index`-th element of the top-level array.
    pub(crate) fn element(obj: &'a Map<String, Value>, index: usize) -> Self {
        Self {
            obj,
            path: format!("[{index}]"),
        }
    }

    /// Error key for `name` inside this object, e.g. `[0].teams[2].team_id`.
    pub(crate) fn path(&self, name: &str) -> String {
        format!("{}.{name}", self.path)
    }

    /// Field lookup, case-insensitive like .NET binding; `null` counts as absent.
    fn raw(&self, name: &str) -> Option<&'a Value> {
        let v = self.obj.get(name).or_else(|| {
            self.obj
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })?;
        (!v.is_null()).then_some(v)
    }

    fn type_error(&self, name: &str, ty: &str) -> ApiError {
        not_convertible(&self.path(name), ty)
    }

    pub(crate) fn str(&self, name: &str) -> Result<Option<&'a str>, ApiError> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.type_error(name, "System.String")),
        }
    }

    /// Integers; numeric strings are accepted as .NET's binder does.
    pub(crate) fn int(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.type_error(name, "System.Int32")),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| self.type_error(name, "System.Int32")),
            Some(_) => Err(self.type_error(name, "System.Int32")),
        }
    }

    pub(crate) fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(self.type_error(name, "System.Boolean")),
        }
    }

    pub(crate) fn value(&self, name: &str) -> Option<&'a Value> {
        self.raw(name)
    }

    /// An array of objects, each wrapped with its own path.
    pub(crate) fn objects(&self, name: &str) -> Result<Option<Vec<Fields<'a>>>, ApiError> {
        let items = match self.raw(name) {
            None => return Ok(None),
            Some(Value::Array(items)) => items,
            Some(_) => return Err(self.type_error(name, "a list")),
        };
        items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Object(obj) => Ok(Fields {
                    obj,
                    path: format!("{}.{name}[{i}]", self.path),
                }),
                _ => Err(not_convertible(
                    &format!("{}.{name}[{i}]", self.path),
                    "an object",
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_field_path() {
        assert_eq!(elements(b"").unwrap_err().field.as_deref(), Some("$"));
        assert_eq!(elements(b"[{").unwrap_err().field.as_deref(), Some("$"));
        assert_eq!(elements(b"[1]").unwrap_err().field.as_deref(), Some("[0]"));
        assert_eq!(elements(b"{\"a\":1}").unwrap().len(), 1);
        let items = elements(br#"[{"Name": 5, "id": "7", "teams": [{"team_id": "x"}]}]"#).unwrap();
        let f = Fields::element(&items[0], 0);
        assert_eq!(
            f.str("name").unwrap_err().field.as_deref(),
            Some("[0].name")
        );
        assert_eq!(f.int("id").unwrap(), Some(7));
        let teams = f.objects("teams").unwrap().unwrap();
        assert_eq!(
            teams[0].int("team_id").unwrap_err().field.as_deref(),
            Some("[0].teams[0].team_id")
        );
    }
}
