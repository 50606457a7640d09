//! Generators the properties share: JSON built from a parser's real field names mixed with
//! junk, and mutations (edits, truncation) of a valid input.

use proptest::prelude::*;
use serde_json::{Map, Number, Value};

/// A JSON scalar, leaning on the shapes Halo mixes up: numbers as strings, floats for ids,
/// booleans as numbers, `null`.
pub fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1000i64..1000).prop_map(Value::from),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<i64>().prop_map(|n| Value::String(n.to_string())),
        Just(Value::String("1900-01-01T00:00:00".into())),
        Just(Value::String(" 42 ".into())),
        "\\PC{0,16}".prop_map(Value::String),
        any::<String>().prop_map(Value::String),
    ]
}

/// A key: one of `names` (the real field names) or junk.
pub fn key(names: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(names).prop_map(str::to_string),
        1 => "[a-z_]{0,10}",
        1 => any::<String>(),
    ]
}

/// Any JSON value whose objects mostly use `names` as keys, nested up to 4 deep.
pub fn json(names: &'static [&'static str]) -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            object(names, inner),
        ]
    })
}

/// An object whose keys are mostly `names`, with values from `values`.
pub fn object(
    names: &'static [&'static str],
    values: impl Strategy<Value = Value>,
) -> impl Strategy<Value = Value> {
    prop::collection::vec((key(names), values), 0..10)
        .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<String, Value>>()))
}

/// One edit of a text.
#[derive(Debug, Clone)]
pub enum Edit {
    Delete(usize),
    Insert(usize, char),
    Replace(usize, char),
    Truncate(usize),
    Repeat(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let at = any::<usize>();
    let ch = prop_oneof![
        proptest::sample::select(
            &[
                '"', '\\', '{', '}', '[', ']', ':', ',', '@', '/', '.', '=', ' ', '\n', '\0', '0',
                '-', 'é', '🦀'
            ][..]
        ),
        any::<char>(),
    ];
    prop_oneof![
        at.prop_map(Edit::Delete),
        (at, ch.clone()).prop_map(|(i, c)| Edit::Insert(i, c)),
        (at, ch).prop_map(|(i, c)| Edit::Replace(i, c)),
        at.prop_map(Edit::Truncate),
        (at, 1usize..8).prop_map(|(i, n)| Edit::Repeat(i, n)),
    ]
}

/// `base` with 1 to 4 edits applied at char boundaries.
pub fn mutated(base: String) -> impl Strategy<Value = String> {
    prop::collection::vec(edit(), 1..5).prop_map(move |edits| apply(&base, &edits))
}

pub fn apply(base: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = base.chars().collect();
    for e in edits {
        let len = chars.len();
        let pos = |i: usize| if len == 0 { 0 } else { i % len };
        match *e {
            Edit::Delete(i) if len > 0 => {
                chars.remove(pos(i));
            }
            Edit::Insert(i, c) => chars.insert(i % (len + 1), c),
            Edit::Replace(i, c) if len > 0 => chars[pos(i)] = c,
            Edit::Truncate(i) => chars.truncate(i % (len + 1)),
            Edit::Repeat(i, n) if len > 0 => {
                let start = pos(i);
                let end = (start + n).min(len);
                let piece: Vec<char> = chars[start..end].to_vec();
                chars.splice(end..end, piece);
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

/// Bytes with 1 to 8 of them flipped, dropped or the whole cut short.
pub fn corrupted(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let op = prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(i, x)| (0u8, i, x)),
        any::<usize>().prop_map(|i| (1u8, i, 0)),
        any::<usize>().prop_map(|i| (2u8, i, 0)),
    ];
    prop::collection::vec(op, 1..8).prop_map(move |ops| {
        let mut b = base.clone();
        for (kind, i, x) in ops {
            if b.is_empty() {
                break;
            }
            let at = i % b.len();
            match kind {
                0 => b[at] ^= x,
                1 => {
                    b.remove(at);
                }
                _ => b.truncate(at),
            }
        }
        b
    })
}
