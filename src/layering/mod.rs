//! The layering rule as a test (issue 16). It reads the sources, not the compiled crate:
//! every `crate::`, `super::` and `self::` path in src/ (in `use` trees, in code, and in
//! attribute strings such as `#[schemars(with = "crate::settings::HumanDuration")]`) is
//! resolved to the file it names, and
//!
//! 1. an import between two top-level modules must point down [`LAYERS`]: a module uses
//!    only modules on lower lines, never one on its own line or above;
//! 2. inside every module folder, the files and subfolders do not import each other in a
//!    circle (the simulator crate, crates/haloitsm-sim, included).
//!
//! A folder's `mod.rs` (or `foo.rs` for `foo/`) is the folder itself: it declares and
//! re-exports its files, and its files may use what it defines, so the edges between a
//! module and what lies inside it are not circles between files. A path through a
//! re-export (`crate::halo::HaloClient`) is followed to the file that defines the item.

mod sources;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use sources::Tree;

/// The layers, bottom to top, each with why it sits there. A module may use the modules
/// on lower lines only; modules on one line don't use each other. The binary (main.rs,
/// cli) sits above them all, and the simulator is a crate of its own.
#[rustfmt::skip]
const LAYERS: &[(&[&str], &str)] = &[
    (&["pb", "secret", "actor_slot", "telemetry", "settings"], "foundations: wire types, redaction, actor slot, metrics and events, what settings types share"),
    (&["contract"], "shared vocabulary: the ID contract, Halo dates, the published-snapshot event"),
    (&["halo", "c1z"], "the Halo client (gateway, token manager, endpoints); the c1z format"),
    (&["sync", "ticketing"], "capabilities that don't know each other"),
    (&["provisioning"], "may use ticketing (fallback tickets) and c1z (reading snapshots)"),
    (&["c1"], "service mode: the C1 link, tasks and uploads; calls the capabilities"),
    (&["config"], "assembles every capability's own settings type: load, env, keys, validate"),
    (&["logging", "describe"], "process-level helpers that read the config"),
    (&["daemon"], "wires the actors"),
];

/// Not ranked: the binary (main.rs, cli), above every layer, and this test, which
/// imports nothing.
const NOT_RANKED: &[&str] = &["main", "cli", "layering"];

/// Circles of files that another change removes: (folder, files in the circle). The test
/// fails once such a circle is gone, so that its line goes too.
const KNOWN_CIRCLES: &[(&str, &[&str])] = &[];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(mods, _)| mods.contains(&module))
}

/// Rule 1: imports between top-level modules point down the layers.
fn layer_violations(tree: &Tree) -> Vec<String> {
    let mut out = Vec::new();
    let mut unranked = BTreeSet::new();
    for f in &tree.files {
        if let Some(top) = f.module.first()
            && !NOT_RANKED.contains(&top.as_str())
            && layer_of(top).is_none()
        {
            unranked.insert(top.clone());
        }
    }
    for m in unranked {
        out.push(format!(
            "{}/{m}: module `{m}` has no line in LAYERS (src/layering/mod.rs); give it one",
            tree.root_name
        ));
    }
    for (mods, _) in LAYERS {
        for m in *mods {
            let exists = tree
                .files
                .iter()
                .any(|f| f.module.first().map(String::as_str) == Some(*m));
            if !exists {
                out.push(format!(
                    "LAYERS names `{m}`, which is no module of {}/: remove it",
                    tree.root_name
                ));
            }
        }
    }
    for (i, j, imp) in tree.edges() {
        let (from, to) = (&tree.files[i], &tree.files[j]);
        let (Some(a), Some(b)) = (from.module.first(), to.module.first()) else {
            continue;
        };
        if a == b || NOT_RANKED.contains(&a.as_str()) {
            continue;
        }
        let (Some(la), Some(lb)) = (layer_of(a), layer_of(b)) else {
            continue;
        };
        let why = if la == lb {
            format!(
                "`{a}` and `{b}` share layer {la} ({}) and may not use each other",
                LAYERS[la].1
            )
        } else if la < lb {
            format!(
                "it runs back up the layers: `{a}` (layer {la}: {}) may not use `{b}` (layer {lb}: {})",
                LAYERS[la].1, LAYERS[lb].1
            )
        } else {
            continue;
        };
        out.push(format!(
            "{}/{}:{}: `{}`: {why}",
            tree.root_name, from.rel, imp.line, imp.text
        ));
    }
    out
}

/// Rule 2: no circle among the files and subfolders of any folder. Returns each circle as
/// (folder, its members in order, message).
fn circles(tree: &Tree) -> Vec<(String, Vec<String>, String)> {
    // folder module → sibling graph: member → member → the first import that links them.
    type Graph = BTreeMap<String, BTreeMap<String, String>>;
    let mut graphs: BTreeMap<Vec<String>, Graph> = BTreeMap::new();
    for (i, j, imp) in tree.edges() {
        let (a, b) = (&tree.files[i].module, &tree.files[j].module);
        let common = a.iter().zip(b).take_while(|(x, y)| x == y).count();
        // One lies inside the other: a module and its own contents.
        if common == a.len() || common == b.len() {
            continue;
        }
        let folder = a[..common].to_vec();
        let note = format!("{}:{} `{}`", tree.files[i].rel, imp.line, imp.text);
        graphs
            .entry(folder)
            .or_default()
            .entry(a[common].clone())
            .or_default()
            .entry(b[common].clone())
            .or_insert(note);
    }
    let mut out = Vec::new();
    for (folder, graph) in &graphs {
        let folder_name = std::iter::once(tree.root_name.clone())
            .chain(folder.iter().cloned())
            .collect::<Vec<_>>()
            .join("/");
        let member_name = |m: &str| {
            let mut path = folder.clone();
            path.push(m.to_string());
            match tree.by_module.get(&path) {
                Some(&i) if !tree.files[i].rel.ends_with("mod.rs") => format!("{m}.rs"),
                _ => format!("{m}/"),
            }
        };
        for cycle in find_cycles(graph) {
            let mut steps = Vec::new();
            for (k, m) in cycle.iter().enumerate() {
                let next = &cycle[(k + 1) % cycle.len()];
                steps.push(format!(
                    "{} -> {} ({})",
                    member_name(m),
                    member_name(next),
                    graph[m][next]
                ));
            }
            let mut members: Vec<String> = cycle.iter().map(|m| member_name(m)).collect();
            members.sort();
            out.push((
                folder_name.clone(),
                members,
                format!("circle of files in {folder_name}/: {}", steps.join("; ")),
            ));
        }
    }
    out
}

/// One cycle per back edge found by a depth-first walk (enough to name every circle).
fn find_cycles(graph: &BTreeMap<String, BTreeMap<String, String>>) -> Vec<Vec<String>> {
    fn walk(
        n: &str,
        graph: &BTreeMap<String, BTreeMap<String, String>>,
        state: &mut HashMap<String, u8>,
        stack: &mut Vec<String>,
        out: &mut Vec<Vec<String>>,
    ) {
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for next in graph.get(n).into_iter().flat_map(|m| m.keys()) {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                0 => walk(next, graph, state, stack, out),
                1 => {
                    let from = stack.iter().position(|s| s == next).expect("on the stack");
                    out.push(stack[from..].to_vec());
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
    }
    let mut state = HashMap::new();
    let mut out = Vec::new();
    for n in graph.keys() {
        if !state.contains_key(n.as_str()) {
            walk(n, graph, &mut state, &mut Vec::new(), &mut out);
        }
    }
    out
}

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn imports_point_down_the_layers_and_no_files_go_in_circles() {
    let connector = Tree::read(&manifest_dir().join("src"), "src");
    let simulator = Tree::read(
        &manifest_dir().join("crates/haloitsm-sim/src"),
        "crates/haloitsm-sim/src",
    );
    // A reader that finds nothing would pass anything.
    assert!(
        connector.edges().len() > 300,
        "only {} imports found in src/",
        connector.edges().len()
    );
    assert!(simulator.edges().len() > 50);

    let mut problems = layer_violations(&connector);
    let mut known_seen = BTreeSet::new();
    for tree in [&connector, &simulator] {
        for (folder, members, message) in circles(tree) {
            let known = KNOWN_CIRCLES.iter().position(|(f, m)| {
                *f == folder && m.iter().map(|s| s.to_string()).collect::<Vec<_>>() == members
            });
            match known {
                Some(k) => {
                    known_seen.insert(k);
                }
                None => problems.push(message),
            }
        }
    }
    for (k, (folder, members)) in KNOWN_CIRCLES.iter().enumerate() {
        if !known_seen.contains(&k) {
            problems.push(format!(
                "the circle {members:?} in {folder}/ is gone: remove its line from KNOWN_CIRCLES"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} layering problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}
