//! Provider registration files (`POOLGATE_PROVIDERS_DIR/*.toml`): the provider body of
//! the admin API as TOML plus `name`, with `${VAR}` replaced from the environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::bodies::ProviderBody;
use crate::model::ProviderRecord;

#[derive(Debug, Deserialize)]
struct FileBody {
    name: String,
    #[serde(flatten)]
    body: toml::Table,
}

/// What loading one file gave.
#[derive(Debug)]
pub enum FileOutcome {
    Loaded(Box<ProviderRecord>),
    /// A `${VAR}` was unset: skipped with a warning naming the variable.
    Skipped {
        file: PathBuf,
        variable: String,
    },
    Invalid {
        file: PathBuf,
        errors: Vec<String>,
    },
}

/// Replaces `${VAR}`; returns the first unset variable instead.
pub fn substitute(text: &str, env: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[i..]);
            return Ok(out);
        };
        let var = &after[..end];
        let valid = !var.is_empty() && var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            out.push_str(&rest[i..i + 2 + end + 1]);
        } else {
            match env.get(var) {
                // TOML-escape the value: it lands inside a quoted string.
                Some(v) => out.push_str(
                    &v.replace('\\', "\\\\")
                        .replace('"', "\\\"")
                        .replace('\n', "\\n"),
                ),
                None => return Err(var.to_owned()),
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Parses every `*.toml` in `dir` into provider records of `pool`, sorted by file name.
pub fn load_dir(
    dir: &Path,
    pool: &str,
    env: &BTreeMap<String, String>,
    now: i64,
) -> Vec<FileOutcome> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|f| load_file(&f, pool, env, now))
        .collect()
}

fn load_file(file: &Path, pool: &str, env: &BTreeMap<String, String>, now: i64) -> FileOutcome {
    let invalid = |errors: Vec<String>| FileOutcome::Invalid {
        file: file.to_path_buf(),
        errors,
    };
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => return invalid(vec![format!("cannot read: {e}")]),
    };
    // Only the non-comment lines are substituted, so documentation may mention ${VAR}.
    let code: String = text
        .lines()
        .map(|l| {
            if l.trim_start().starts_with('#') {
                ""
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let text = match substitute(&code, env) {
        Ok(t) => t,
        Err(variable) => {
            return FileOutcome::Skipped {
                file: file.to_path_buf(),
                variable,
            };
        }
    };
    let parsed: FileBody = match toml::from_str(&text) {
        Ok(p) => p,
        Err(e) => return invalid(vec![e.message().to_owned()]),
    };
    let json = match serde_json::to_value(&parsed.body) {
        Ok(v) => v,
        Err(e) => return invalid(vec![e.to_string()]),
    };
    let body: ProviderBody = match serde_json::from_value(json) {
        Ok(b) => b,
        Err(e) => return invalid(vec![e.to_string()]),
    };
    match body.into_record(pool, &parsed.name, None, now) {
        Ok(r) => FileOutcome::Loaded(Box::new(r)),
        Err(errors) => invalid(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitution() {
        let env = BTreeMap::from([("A".to_owned(), "x\"y".to_owned())]);
        assert_eq!(substitute("s = \"${A}\"", &env).unwrap(), "s = \"x\\\"y\"");
        assert_eq!(substitute("s = \"${B}\"", &env).unwrap_err(), "B");
        assert_eq!(substitute("no vars", &env).unwrap(), "no vars");
    }
}
