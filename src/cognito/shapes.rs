//! Pieces shared by the operations: timestamps as the JSON 1.1 protocol writes them,
//! `NextToken` pagination over sorted lists, and `MaxResults` checks.

use serde_json::{Value, json};

use super::CognitoError;

/// A timestamp member: epoch seconds as a JSON number (awsJson 1.1).
pub fn epoch(unix_seconds: i64) -> Value {
    json!(unix_seconds)
}

/// Checks `MaxResults` against Cognito's range for the operation.
pub fn max_results(v: Option<i64>, default: i64, max: i64) -> Result<usize, CognitoError> {
    let n = v.unwrap_or(default);
    if !(1..=max).contains(&n) {
        return Err(CognitoError::invalid_parameter(format!(
            "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and {max}"
        )));
    }
    usize::try_from(n).map_err(|_| CognitoError::invalid_parameter("maxResults"))
}

/// One page of `items` (sorted by `key`) after `token`: the items, and the token of
/// the next page (the key of the last item given) when more follow. A token that is no
/// item's key still works: the page starts after where it would sort.
pub fn page<T, K: Fn(&T) -> String>(
    items: Vec<T>,
    key: K,
    token: Option<&str>,
    limit: usize,
) -> (Vec<T>, Option<String>) {
    let mut rest: Vec<T> = match token {
        Some(t) => items.into_iter().filter(|i| key(i).as_str() > t).collect(),
        None => items,
    };
    let next = (rest.len() > limit).then(|| key(&rest[limit - 1]));
    rest.truncate(limit);
    (rest, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_each_other() {
        let items: Vec<String> = ["a", "b", "c", "d", "e"].map(String::from).to_vec();
        let (p1, t1) = page(items.clone(), Clone::clone, None, 2);
        assert_eq!(p1, ["a", "b"]);
        let (p2, t2) = page(items.clone(), Clone::clone, t1.as_deref(), 2);
        assert_eq!(p2, ["c", "d"]);
        let (p3, t3) = page(items, Clone::clone, t2.as_deref(), 2);
        assert_eq!(p3, ["e"]);
        assert_eq!(t3, None);
        assert!(max_results(Some(0), 10, 60).is_err());
        assert!(max_results(Some(61), 10, 60).is_err());
        assert_eq!(max_results(None, 10, 60).unwrap(), 10);
    }
}
