//! The console's second sign-in (`POOLGATE_CONSOLE_POOL`, `POOLGATE_CONSOLE_GROUP`):
//! read and checked with the other settings; both are set or neither.

/// Who may sign in to the console through a pool: the members of `group` in `pool`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleAccess {
    pub pool: String,
    pub group: String,
}

/// Reads `POOLGATE_CONSOLE_POOL` and `POOLGATE_CONSOLE_GROUP`: both or neither.
pub(super) fn console_access(
    pool: Option<String>,
    group: Option<String>,
    errors: &mut Vec<String>,
) -> Option<ConsoleAccess> {
    let (pool, group) = match (pool, group) {
        (None, None) => return None,
        (Some(_), None) => {
            errors.push(
                "POOLGATE_CONSOLE_GROUP: required when POOLGATE_CONSOLE_POOL is set (only the members of this group of the pool may sign in to the console)"
                    .to_owned(),
            );
            return None;
        }
        (None, Some(_)) => {
            errors.push(
                "POOLGATE_CONSOLE_POOL: required when POOLGATE_CONSOLE_GROUP is set (the pool whose sign-in the console uses)"
                    .to_owned(),
            );
            return None;
        }
        (Some(p), Some(g)) => (p.trim().to_owned(), g.trim().to_owned()),
    };
    let mut ok = true;
    // A pool id as the admin API makes them (`acme`, or Cognito-shaped `us-east-1_Ab12`).
    if pool.is_empty()
        || pool.len() > 63
        || !pool
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        errors.push(format!("POOLGATE_CONSOLE_POOL: not a pool id: {pool:?}"));
        ok = false;
    }
    // Cognito's rule for a group name.
    if !(1..=128).contains(&group.chars().count()) || group.chars().any(char::is_control) {
        errors.push(format!(
            "POOLGATE_CONSOLE_GROUP: a group name is 1 to 128 characters: {group:?}"
        ));
        ok = false;
    }
    ok.then_some(ConsoleAccess { pool, group })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::config::Settings;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn console_pool_and_group_go_together() {
        let s = Settings::load(None, &env(&[])).unwrap();
        assert_eq!(s.console_access, None);
        let s = Settings::load(
            None,
            &env(&[
                ("POOLGATE_CONSOLE_POOL", "default"),
                ("POOLGATE_CONSOLE_GROUP", "console-admins"),
            ]),
        )
        .unwrap();
        assert_eq!(
            s.console_access,
            Some(ConsoleAccess {
                pool: "default".into(),
                group: "console-admins".into()
            })
        );
        for (set, missing) in [
            ("POOLGATE_CONSOLE_POOL", "POOLGATE_CONSOLE_GROUP"),
            ("POOLGATE_CONSOLE_GROUP", "POOLGATE_CONSOLE_POOL"),
        ] {
            let e = Settings::load(None, &env(&[(set, "x")])).unwrap_err();
            assert_eq!(e.0.len(), 1, "{e}");
            assert!(e.0[0].starts_with(missing), "{e}");
            assert!(e.0[0].contains("required when"), "{e}");
        }
        let e = Settings::load(
            None,
            &env(&[
                ("POOLGATE_CONSOLE_POOL", "a/b"),
                ("POOLGATE_CONSOLE_GROUP", "ok"),
            ]),
        )
        .unwrap_err();
        assert!(
            e.0[0].starts_with("POOLGATE_CONSOLE_POOL: not a pool id"),
            "{e}"
        );
    }
}
