//! Pool hook settings: `settings.hooks` validated when set, and the pool's hook secret
//! generated when hooks are first set, shown once, and rotated (interface.md section 8).

use serde_json::Value;

use crate::model::{HookSecret, Pool};
use crate::secret::random_token;

/// A new hook secret: 256 random bits.
pub fn new_secret() -> HookSecret {
    HookSecret(random_token(32))
}

/// Validates and normalizes `pool.settings.hooks` after a create or change. When the
/// pool has hooks and no secret yet, one is made: the returned secret is shown in that
/// answer and never again. Every problem is reported, each naming its key.
pub fn prepare(pool: &mut Pool) -> Result<Option<HookSecret>, Vec<String>> {
    crate::hooks::config::validate(&mut pool.settings.hooks).map_err(|errors| {
        errors
            .into_iter()
            .map(|e| format!("hooks.{e}"))
            .collect::<Vec<_>>()
    })?;
    if pool.settings.hooks.is_empty() || pool.hook_secret.is_some() {
        return Ok(None);
    }
    let secret = new_secret();
    pool.hook_secret = Some(secret.clone());
    Ok(Some(secret))
}

/// Adds `settings.hook_secret` to a pool view: only in the answer that made it.
pub fn show_secret(mut view: Value, secret: &HookSecret) -> Value {
    if let Some(settings) = view.get_mut("settings").and_then(Value::as_object_mut) {
        settings.insert("hook_secret".into(), Value::String(secret.0.clone()));
    }
    view
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PoolSettings;

    fn pool(hooks: serde_json::Value) -> Pool {
        let settings = PoolSettings {
            hooks: serde_json::from_value(hooks).unwrap(),
            ..Default::default()
        };
        Pool {
            id: "p".into(),
            settings,
            created_at: 0,
            hook_secret: None,
        }
    }

    #[test]
    fn the_secret_is_made_once_with_the_first_hooks() {
        let mut p = pool(serde_json::json!({}));
        assert_eq!(prepare(&mut p).unwrap(), None, "no hooks, no secret");
        let mut p = pool(serde_json::json!({"PreSignUp": "https://h.example/a"}));
        let s = prepare(&mut p).unwrap().unwrap();
        assert_eq!(s.0.len(), 43);
        assert_eq!(p.hook_secret.as_ref(), Some(&s));
        assert_eq!(prepare(&mut p).unwrap(), None, "kept, not shown again");
        assert!(!format!("{p:?}").contains(&s.0), "Debug redacts the secret");
        let mut bad = pool(serde_json::json!({"PreSignUp": "http://h.example/a"}));
        let e = prepare(&mut bad).unwrap_err();
        assert!(e[0].starts_with("hooks.PreSignUp:"), "{e:?}");
        assert!(bad.hook_secret.is_none());
    }
}
