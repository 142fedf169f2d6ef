//! The layering of docs/architecture.md, checked on the source: requests flow one way,
//! `http/cognito -> admin -> flow -> {provider, identity, token, tls, hooks} -> store`, over
//! the leaf modules every layer may use. A module that imports one of a higher layer
//! (or one of the few forbidden lower ones) fails this test, naming file and line.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Each top-level module of `src/` and its layer; a module imports only lower layers.
const LAYERS: &[(&str, u8)] = &[
    ("model", 0),
    ("clock", 0),
    ("config", 0),
    ("secret", 0),
    ("metrics", 0),
    ("store", 1),
    ("provider", 2),
    ("identity", 2),
    ("token", 2),
    ("tls", 2),
    ("hooks", 2),
    // Native users' cryptography and rules (password hashing, SRP, TOTP, policy).
    ("native", 2),
    // Mail to native users over SMTP (codes, invitations).
    ("mail", 2),
    ("flow", 3),
    ("admin", 4),
    ("http", 5),
    ("cognito", 5),
    ("server", 6),
    ("main", 6),
    ("lib", 6),
];

/// Imports within one layer that are allowed: (from, to).
const SAME_LAYER: &[(&str, &str)] = &[
    // A user is made from an upstream identity, the type the adapters produce.
    ("identity", "provider"),
    // The sign-in's gate calls the pool's hooks while it resolves the user.
    ("identity", "hooks"),
    // Hook URLs follow the upstream endpoint rules; pre-token answers change tokens.
    ("hooks", "provider"),
    ("hooks", "token"),
    // Settings read the key that seals client secrets.
    ("config", "secret"),
    // A provider record's version is a random token.
    ("model", "secret"),
    // The two interfaces are one layer: the router mounts the Cognito API, which is
    // served with the same state.
    ("cognito", "http"),
    ("http", "cognito"),
];

/// Lower modules a module must still not import: (from, to).
const FORBIDDEN: &[(&str, &str)] = &[
    // Adapters keep no state: the flow stores what they hand back.
    ("provider", "store"),
    // Hooks are calls out: they read what they are given and store nothing.
    ("hooks", "store"),
    // Interfaces call services, never the store.
    ("http", "store"),
    ("cognito", "store"),
];

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

/// The top-level modules a line of code names through `crate::`.
fn crate_refs(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.push(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.push(name);
            }
        }
    }
    out
}

/// Every violation in `text`, the source of a file of module `from`.
fn violations(from: &str, text: &str) -> Vec<String> {
    let Some(own) = layer(from) else {
        return vec![format!("module {from} has no layer in tests/it/layers.rs")];
    };
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        for to in crate_refs(line) {
            if to == from {
                continue;
            }
            let Some(theirs) = layer(&to) else {
                out.push(format!("line {}: unknown module {to}", n + 1));
                continue;
            };
            let allowed = (theirs < own || SAME_LAYER.contains(&(from, to.as_str())))
                && !FORBIDDEN.contains(&(from, to.as_str()));
            if !allowed {
                out.push(format!("line {}: {from} imports {to}", n + 1));
            }
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn no_module_imports_a_higher_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut modules = BTreeSet::new();
    let mut problems = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_owned();
        let text = std::fs::read_to_string(f).unwrap();
        for v in violations(&module, &text) {
            problems.push(format!("src/{}: {v}", rel.display()));
        }
        modules.insert(module);
    }
    assert!(
        modules.contains("store") && modules.contains("http"),
        "{modules:?}"
    );
    assert!(
        problems.is_empty(),
        "layering violations:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_check_catches_upward_and_forbidden_imports() {
    assert_eq!(
        violations("store", "use crate::flow::Flow;\nuse crate::model::User;"),
        vec!["line 1: store imports flow".to_owned()]
    );
    assert_eq!(
        violations(
            "provider",
            "use crate::{model::User, store::SharedBackend};"
        ),
        vec!["line 1: provider imports store".to_owned()]
    );
    assert_eq!(
        violations("http", "    let x = crate::store::open(u);"),
        vec!["line 1: http imports store".to_owned()]
    );
    assert!(violations("flow", "// see crate::admin for the admin side").is_empty());
    assert!(violations("admin", "use crate::flow::Flow;").is_empty());
    assert!(violations("identity", "use crate::provider::UpstreamIdentity;").is_empty());
    assert_eq!(violations("token", "use crate::identity::X;").len(), 1);
}

/// Lines of `text` that make a `FlowError::Internal` (rather than match on one): only
/// `FlowError::internal(what, cause)` and the conversions in `flow/mod.rs` may, because
/// they log the cause inside the request's span (under its request id).
fn unlogged_internal_errors(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .filter(|(_, l)| {
            l.match_indices("FlowError::Internal").any(|(at, m)| {
                let rest = l[at + m.len()..].trim_start();
                // A pattern (`FlowError::Internal =>`, `A | FlowError::Internal =>`).
                !(rest.starts_with("=>") || rest.starts_with('|'))
            })
        })
        .map(|(n, _)| n + 1)
        .collect()
}

#[test]
fn internal_flow_errors_log_their_cause() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut problems = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        if rel == Path::new("flow/mod.rs") {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        for n in unlogged_internal_errors(&text) {
            problems.push(format!("src/{}:{n}", rel.display()));
        }
    }
    assert!(
        problems.is_empty(),
        "FlowError::Internal made without FlowError::internal(what, cause), so without a log line:\n{}",
        problems.join("\n")
    );
    // The check itself.
    assert_eq!(
        unlogged_internal_errors(
            "x.map_err(|_| FlowError::Internal)?;\nFlowError::Internal => a,\nB | FlowError::Internal => b,"
        ),
        vec![1]
    );
}
