//! Reading the sources for the layering test: every `crate::`, `super::` and `self::` path
//! of a file (in `use` trees, in code, in string literals), with comments left out and
//! inline modules (`mod tests { .. }`) taken into account, and its `pub use` re-exports.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One path as written in a file.
#[derive(Debug, Clone)]
pub(super) struct Import {
    pub(super) line: usize,
    pub(super) text: String,
    /// The module path it names, from the crate root.
    target: Vec<String>,
}

#[derive(Debug)]
pub(super) struct SourceFile {
    /// Relative to the crate root folder, e.g. `sync/mapping.rs`.
    pub(super) rel: String,
    pub(super) module: Vec<String>,
    imports: Vec<Import>,
    /// `pub use` names: (name as exported, module path it points to).
    reexports: Vec<(String, Vec<String>)>,
}

/// One crate's sources, by module path.
pub(super) struct Tree {
    /// Shown in messages: `src`, `crates/haloitsm-sim/src`.
    pub(super) root_name: String,
    pub(super) files: Vec<SourceFile>,
    pub(super) by_module: HashMap<Vec<String>, usize>,
}

impl Tree {
    pub(super) fn read(root: &Path, root_name: &str) -> Tree {
        let mut paths = Vec::new();
        collect_rs(root, &mut paths);
        paths.sort();
        let mut files = Vec::new();
        for path in paths {
            let rel = path
                .strip_prefix(root)
                .expect("under the root")
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let module = module_of(&rel);
            let (imports, reexports) = scan(&text, &module);
            files.push(SourceFile {
                rel,
                module,
                imports,
                reexports,
            });
        }
        let mut by_module = HashMap::new();
        for (i, f) in files.iter().enumerate() {
            // lib.rs and main.rs are both the root; the library's wins.
            if f.rel != "main.rs" || !by_module.contains_key(&f.module) {
                by_module.insert(f.module.clone(), i);
            }
        }
        Tree {
            root_name: root_name.to_string(),
            files,
            by_module,
        }
    }

    /// The file that defines what `path` names: the deepest module file along it,
    /// following `pub use` re-exports.
    fn resolve(&self, path: &[String]) -> Option<usize> {
        let mut path = path.to_vec();
        for _ in 0..8 {
            let mut found = None;
            for len in 0..=path.len() {
                match self.by_module.get(&path[..len]) {
                    Some(&i) => found = Some((i, len)),
                    None if len > 0 => break,
                    None => {}
                }
            }
            let (file, len) = found?;
            let Some(name) = path.get(len) else {
                return Some(file);
            };
            let Some((_, to)) = self.files[file].reexports.iter().find(|(n, _)| n == name) else {
                return Some(file);
            };
            let mut next = to.clone();
            next.extend_from_slice(&path[len + 1..]);
            if next == path {
                return Some(file);
            }
            path = next;
        }
        None
    }

    /// Every (from file, to file, import) whose target is another file.
    pub(super) fn edges(&self) -> Vec<(usize, usize, &Import)> {
        let mut out = Vec::new();
        for (i, f) in self.files.iter().enumerate() {
            for imp in &f.imports {
                if let Some(j) = self.resolve(&imp.target)
                    && j != i
                {
                    out.push((i, j, imp));
                }
            }
        }
        out
    }
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `sync/mapping.rs` → `[sync, mapping]`; `halo/mod.rs` → `[halo]`; `lib.rs` → `[]`.
fn module_of(rel: &str) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) && (parts.len() > 1 || parts[0] != "mod")
    {
        parts.pop();
    }
    parts
}

/// The source with comments blanked and, per char, whether it lies in a string literal.
/// Newlines are kept, so positions keep their line.
fn lex(text: &str) -> (Vec<char>, Vec<bool>) {
    let c: Vec<char> = text.chars().collect();
    let mut out = Vec::with_capacity(c.len());
    let mut in_str = Vec::with_capacity(c.len());
    let mut i = 0;
    while i < c.len() {
        let (end, span) = span_at(&c, i);
        for &ch in &c[i..end] {
            out.push(match span {
                Span::Blank if ch != '\n' => ' ',
                _ => ch,
            });
            in_str.push(span == Span::Str);
        }
        i = end;
    }
    (out, in_str)
}

#[derive(Clone, Copy, PartialEq)]
enum Span {
    Code,
    Str,
    /// Comments and char literals (`'{'` must not count as a brace).
    Blank,
}

/// Where the comment, string or char literal at `i` ends; `i + 1` for code.
fn span_at(c: &[char], i: usize) -> (usize, Span) {
    let at = |k: usize, s: &str| {
        s.chars()
            .enumerate()
            .all(|(n, ch)| c.get(k + n) == Some(&ch))
    };
    if at(i, "//") {
        return (
            (i..c.len()).find(|&k| c[k] == '\n').unwrap_or(c.len()),
            Span::Blank,
        );
    }
    if at(i, "/*") {
        let (mut depth, mut k) = (0, i);
        while k < c.len() {
            if at(k, "/*") {
                depth += 1;
                k += 2;
            } else if at(k, "*/") {
                depth -= 1;
                k += 2;
                if depth == 0 {
                    break;
                }
            } else {
                k += 1;
            }
        }
        return (k.min(c.len()), Span::Blank);
    }
    // Raw strings: r"..", r#".."#, br#".."#.
    let ident_before = i > 0 && is_ident(c[i - 1]);
    let raw = match c[i] {
        'r' if !ident_before => Some(i + 1),
        'b' if !ident_before && c.get(i + 1) == Some(&'r') => Some(i + 2),
        _ => None,
    };
    if let Some(j) = raw {
        let hashes = c[j..].iter().take_while(|&&ch| ch == '#').count();
        if c.get(j + hashes) == Some(&'"') {
            let close = format!("\"{}", "#".repeat(hashes));
            let k = (j + hashes + 1..c.len())
                .find(|&k| at(k, &close))
                .unwrap_or(c.len());
            return ((k + close.len()).min(c.len()), Span::Str);
        }
    }
    if c[i] == '"' {
        let mut k = i + 1;
        while k < c.len() && c[k] != '"' {
            k += if c[k] == '\\' { 2 } else { 1 };
        }
        return ((k + 1).min(c.len()), Span::Str);
    }
    if c[i] == '\'' {
        // A char literal ('x', '\n', '\u{7f}', '\''), not a lifetime or a label.
        let end = if c.get(i + 1) == Some(&'\\') {
            (i + 3..c.len().min(i + 12)).find(|&k| c[k] == '\'')
        } else {
            Some(i + 2).filter(|&k| c.get(k) == Some(&'\''))
        };
        if let Some(end) = end {
            return (end + 1, Span::Blank);
        }
    }
    (i + 1, Span::Code)
}

fn is_ident(ch: char) -> bool {
    ch.is_alphanumeric() || ch == '_'
}

/// The `crate::`/`super::`/`self::` paths of a file, and its `pub use` re-exports.
fn scan(text: &str, module: &[String]) -> (Vec<Import>, Vec<(String, Vec<String>)>) {
    let (c, in_str) = lex(text);
    let mut imports = Vec::new();
    let mut reexports = Vec::new();
    // Inline modules (`mod tests { .. }`): (brace depth at their `{`, name).
    let mut inline: Vec<(usize, String)> = Vec::new();
    let mut depth = 0usize;
    let mut pending_mod: Option<String> = None;
    let line_at = |pos: usize| 1 + c[..pos].iter().filter(|&&ch| ch == '\n').count();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if !in_str[i] && ch == '{' {
            if let Some(name) = pending_mod.take() {
                inline.push((depth, name));
            }
            depth += 1;
            i += 1;
            continue;
        }
        if !in_str[i] && ch == '}' {
            depth = depth.saturating_sub(1);
            if inline.last().is_some_and(|(d, _)| *d == depth) {
                inline.pop();
            }
            i += 1;
            continue;
        }
        let starts_word = is_ident(ch) && (i == 0 || !(is_ident(c[i - 1]) || c[i - 1] == '$'));
        if !starts_word {
            if !in_str[i] && !ch.is_whitespace() {
                pending_mod = None;
            }
            i += 1;
            continue;
        }
        let mut j = i;
        while j < c.len() && is_ident(c[j]) {
            j += 1;
        }
        let word: String = c[i..j].iter().collect();
        let here: Vec<String> = module
            .iter()
            .cloned()
            .chain(inline.iter().map(|(_, n)| n.clone()))
            .collect();
        if in_str[i] {
            if word == "crate" && c[j..].starts_with(&[':', ':']) {
                let (path, end) = read_path(&c, i);
                if let Some(target) = absolute(&path, &here) {
                    imports.push(Import {
                        line: line_at(i),
                        text: path.join("::"),
                        target,
                    });
                }
                i = end;
            } else {
                i = j;
            }
            continue;
        }
        // A word after `::` belongs to a path already read (or one not ours).
        let after_colons = i >= 2 && c[i - 1] == ':' && c[i - 2] == ':';
        match word.as_str() {
            "mod" => {
                let mut k = j;
                while k < c.len() && c[k].is_whitespace() {
                    k += 1;
                }
                let start = k;
                while k < c.len() && is_ident(c[k]) {
                    k += 1;
                }
                pending_mod = Some(c[start..k].iter().collect());
                i = k;
                continue;
            }
            "use" if !after_colons => {
                let end = (j..c.len()).find(|&k| c[k] == ';').unwrap_or(c.len());
                let tree: String = c[j..end].iter().collect();
                let public = is_pub_before(&c, i);
                for (path, alias) in expand_use(&tree) {
                    let Some(first) = path.first() else { continue };
                    let ours = matches!(first.as_str(), "crate" | "super" | "self");
                    // A `pub use child::X` in a module re-exports its own child.
                    let target = if ours {
                        absolute(&path, &here)
                    } else if public {
                        Some(here.iter().cloned().chain(path.iter().cloned()).collect())
                    } else {
                        None
                    };
                    let Some(target) = target else { continue };
                    if public && alias != "*" && alias != "self" {
                        reexports.push((alias.clone(), target.clone()));
                    }
                    if ours {
                        imports.push(Import {
                            line: line_at(i),
                            text: path.join("::"),
                            target,
                        });
                    }
                }
                i = end;
                continue;
            }
            "crate" | "super" | "self" if !after_colons && c[j..].starts_with(&[':', ':']) => {
                let (path, end) = read_path(&c, i);
                if let Some(target) = absolute(&path, &here) {
                    imports.push(Import {
                        line: line_at(i),
                        text: path.join("::"),
                        target,
                    });
                }
                i = end;
                continue;
            }
            _ => {}
        }
        pending_mod = None;
        i = j;
    }
    (imports, reexports)
}

/// `pub use`, `pub(crate) use`, `pub(super) use` before position `i`.
fn is_pub_before(c: &[char], i: usize) -> bool {
    let before: String = c[i.saturating_sub(20)..i].iter().collect();
    let before = before.trim_end();
    before.ends_with("pub") || (before.ends_with(')') && before.contains("pub("))
}

/// `a::b::c` starting at `start`, up to a `::{`, `::*`, `::<` or anything else.
fn read_path(c: &[char], start: usize) -> (Vec<String>, usize) {
    let mut segs = Vec::new();
    let mut i = start;
    loop {
        let s = i;
        while i < c.len() && is_ident(c[i]) {
            i += 1;
        }
        segs.push(c[s..i].iter().collect());
        if c[i..].starts_with(&[':', ':']) && c.get(i + 2).is_some_and(|&ch| is_ident(ch)) {
            i += 2;
        } else {
            return (segs, i);
        }
    }
}

/// The paths of a use tree, each with the name it binds: `crate::a::{self, b::C as D, e::*}`
/// → `crate::a` (a), `crate::a::b::C` (D), `crate::a::e` (*).
fn expand_use(tree: &str) -> Vec<(Vec<String>, String)> {
    let tree: String = tree.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = Vec::new();
    expand_into(tree.trim(), &[], &mut out);
    out
}

fn expand_into(tree: &str, prefix: &[String], out: &mut Vec<(Vec<String>, String)>) {
    let tree = tree.trim().trim_start_matches("::");
    if let Some(open) = tree.find('{') {
        let head = tree[..open].trim().trim_end_matches("::");
        let inner = tree[open + 1..].trim_end();
        let inner = inner.strip_suffix('}').unwrap_or(inner);
        let mut base = prefix.to_vec();
        base.extend(head.split("::").filter(|s| !s.is_empty()).map(String::from));
        let mut level = 0;
        let mut part = String::new();
        for ch in inner.chars() {
            match ch {
                '{' => level += 1,
                '}' => level -= 1,
                _ => {}
            }
            if ch == ',' && level == 0 {
                expand_into(&part, &base, out);
                part.clear();
            } else {
                part.push(ch);
            }
        }
        if !part.trim().is_empty() {
            expand_into(&part, &base, out);
        }
        return;
    }
    if tree.is_empty() {
        return;
    }
    let (path, alias) = match tree.split_once(" as ") {
        Some((p, a)) => (p.trim(), Some(a.trim().to_string())),
        None => (tree, None),
    };
    let mut segs = prefix.to_vec();
    segs.extend(
        path.split("::")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from),
    );
    let last = segs.last().cloned().unwrap_or_default();
    match last.as_str() {
        "self" => {
            segs.pop();
            let name = alias.unwrap_or_else(|| segs.last().cloned().unwrap_or_default());
            out.push((segs, name));
        }
        "*" => {
            segs.pop();
            out.push((segs, "*".into()));
        }
        _ => out.push((segs, alias.unwrap_or(last))),
    }
}

/// A `crate::`/`super::`/`self::` path as a module path from the crate root; `here` is
/// the module the path is written in (inline modules included).
fn absolute(path: &[String], here: &[String]) -> Option<Vec<String>> {
    let (mut base, rest) = match path.first().map(String::as_str) {
        Some("crate") => (Vec::new(), &path[1..]),
        Some("super" | "self") => (here.to_vec(), path),
        _ => return None,
    };
    let mut rest = rest;
    while let Some(first) = rest.first() {
        match first.as_str() {
            "super" => {
                base.pop()?;
            }
            "self" => {}
            _ => break,
        }
        rest = &rest[1..];
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

#[cfg(test)]
mod tests;
