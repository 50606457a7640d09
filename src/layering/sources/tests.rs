//! The reader on a made-up file: every kind of path it must see, and what it must not.

use super::{module_of, scan};

#[test]
fn the_reader_sees_every_kind_of_path() {
    let text = r#"
use std::fmt;
use crate::a::{self, b::{C, D as E}, f::*};
pub use inner::Thing;
pub(crate) use crate::g::H as I;
#[schemars(with = "crate::settings::HumanDuration")]
struct S;
// use crate::commented::Out;
fn f() { let _ = crate::j::k(); let s = "use crate::in_a_string; {"; let c = '{'; }
mod tests {
    use super::*;
    use super::super::up::X;
}
"#;
    let (imports, reexports) = scan(text, &["m".to_string(), "n".to_string()]);
    let got: Vec<(String, String)> = imports
        .iter()
        .map(|i| (i.text.clone(), i.target.join("::")))
        .collect();
    let want = [
        ("crate::a", "a"),
        ("crate::a::b::C", "a::b::C"),
        ("crate::a::b::D", "a::b::D"),
        ("crate::a::f", "a::f"),
        ("crate::g::H", "g::H"),
        ("crate::settings::HumanDuration", "settings::HumanDuration"),
        ("crate::j::k", "j::k"),
        ("crate::in_a_string", "in_a_string"),
        // Inside `mod tests`, `super` is the file itself.
        ("super", "m::n"),
        ("super::super::up::X", "m::up::X"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(got, want);
    assert_eq!(
        reexports,
        [
            (
                "Thing".to_string(),
                vec!["m".into(), "n".into(), "inner".into(), "Thing".into()]
            ),
            ("I".to_string(), vec!["g".into(), "H".into()]),
        ]
    );
    assert_eq!(module_of("halo/mod.rs"), ["halo"]);
    assert_eq!(
        module_of("config/keys/tests.rs"),
        ["config", "keys", "tests"]
    );
    assert!(module_of("lib.rs").is_empty());
}
