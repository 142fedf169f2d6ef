//! Pool tags (Cognito's `UserPoolTags`, `TagResource`, `UntagResource`): labels kept in
//! the pool's settings, checked as AWS checks tags.

use std::collections::BTreeMap;

use super::PoolInfo;
use super::error::{AdminError, AdminResult};
use super::service::Admin;

/// AWS's limit of tags per resource.
pub const MAX_TAGS: usize = 50;

/// What AWS allows in a tag key or value: letters, digits, spaces and `_ . : / = + - @`.
fn tag_chars_ok(s: &str) -> bool {
    s.chars().all(|c| {
        c.is_alphanumeric() || c.is_whitespace() && !c.is_control() || "_.:/=+-@".contains(c)
    })
}

/// Every problem of a pool's tags, each naming the tag.
pub fn problems(tags: &BTreeMap<String, String>) -> Vec<String> {
    let mut e = Vec::new();
    if tags.len() > MAX_TAGS {
        e.push(format!("tags: at most {MAX_TAGS} per pool"));
    }
    for (k, v) in tags {
        let key_len = k.chars().count();
        if !(1..=128).contains(&key_len) || !tag_chars_ok(k) {
            e.push(format!(
                "tags: key {k:?} must be 1 to 128 letters, digits, spaces and _.:/=+-@"
            ));
        } else if k.to_ascii_lowercase().starts_with("aws:") {
            e.push(format!("tags: key {k:?}: the aws: prefix is reserved"));
        }
        if v.chars().count() > 256 || !tag_chars_ok(v) {
            e.push(format!(
                "tags: the value of {k:?} must be at most 256 letters, digits, spaces and _.:/=+-@"
            ));
        }
    }
    e
}

impl Admin {
    /// Adds or replaces tags of the pool; all or nothing.
    pub async fn tag_pool(
        &self,
        id: &str,
        tags: BTreeMap<String, String>,
    ) -> AdminResult<PoolInfo> {
        self.update_pool_settings(id, |settings| {
            settings.tags.extend(tags.clone());
            let found = problems(&settings.tags);
            if found.is_empty() {
                Ok(())
            } else {
                Err(AdminError::Invalid(found))
            }
        })
        .await
    }

    /// Removes the tags with these keys (keys the pool has not are ignored).
    pub async fn untag_pool(&self, id: &str, keys: &[String]) -> AdminResult<PoolInfo> {
        self.update_pool_settings(id, |settings| {
            for k in keys {
                settings.tags.remove(k);
            }
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_checked_as_aws_checks_them() {
        let ok: BTreeMap<String, String> = [
            ("env".into(), "prod".into()),
            ("Owner Team".into(), "a.b@example.com".into()),
            ("empty".into(), String::new()),
        ]
        .into();
        assert!(problems(&ok).is_empty());
        for (k, v) in [
            ("", "x"),
            ("aws:cost", "x"),
            ("bad<key>", "x"),
            ("k", "new\nline"),
        ] {
            let t: BTreeMap<String, String> = [(k.to_owned(), v.to_owned())].into();
            assert_eq!(problems(&t).len(), 1, "{k:?} {v:?}");
        }
        let long: BTreeMap<String, String> = [("k".repeat(129), String::new())].into();
        assert_eq!(problems(&long).len(), 1);
        let many: BTreeMap<String, String> =
            (0..51).map(|i| (format!("k{i}"), String::new())).collect();
        assert_eq!(problems(&many).len(), 1);
    }
}
