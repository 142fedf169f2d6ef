//! Redis backend: the paginated user list, read from the sorted-set indexes that the
//! user scripts maintain (all users, one email, one provider), ordered by (created_at, id).

use super::keys::PoolKeys;
use super::users::users_by_ids;
use super::{RedisStore, UnexpectedReply};
use crate::model::{Page, User, UserFilter};
use crate::store::paging::{clamp_page, decode_cursor, encode_cursor};
use crate::store::{StoreError, StoreResult};

/// Users ordered by (created_at, id) from one sorted set (all users, one email, or one
/// provider), after the cursor's position; a second filter is checked per candidate.
pub(super) async fn list_users(
    s: &RedisStore,
    pool: &str,
    filter: &UserFilter,
    limit: usize,
    cursor: Option<&str>,
) -> StoreResult<Page<User>> {
    let limit = clamp_page(limit);
    let k = PoolKeys::new(pool);
    let (source, also_in) = match (&filter.email_norm, &filter.provider) {
        (Some(email), provider) => (
            k.email(email),
            provider.as_deref().map(|p| k.provider_users(p)),
        ),
        (None, Some(provider)) => (k.provider_users(provider), None),
        (None, None) => (k.users(), None),
    };
    let after = cursor
        .map(decode_cursor)
        .transpose()?
        .map(|p| (p.created_at, p.id));
    let min = after
        .as_ref()
        .map_or_else(|| "-inf".to_owned(), |(score, _)| score.to_string());
    let mut picked: Vec<(i64, String)> = Vec::new();
    let mut offset = 0usize;
    const BATCH: usize = 100;
    while picked.len() <= limit {
        let flat: Vec<String> = s
            .query(
                redis::cmd("ZRANGEBYSCORE")
                    .arg(&source)
                    .arg(&min)
                    .arg("+inf")
                    .arg("WITHSCORES")
                    .arg("LIMIT")
                    .arg(offset)
                    .arg(BATCH),
            )
            .await?;
        let batch = pairs(&flat)?;
        offset += batch.len();
        let mut candidates: Vec<(i64, String)> = batch
            .into_iter()
            .filter(|(score, id)| match &after {
                Some((s0, id0)) => (score, id) > (s0, id0),
                None => true,
            })
            .collect();
        if let Some(also) = &also_in
            && !candidates.is_empty()
        {
            let mut pipe = redis::pipe();
            for (_, id) in &candidates {
                pipe.cmd("ZSCORE").arg(also).arg(id);
            }
            let present: Vec<Option<String>> = s.pipe(&pipe).await?;
            let mut present = present.into_iter();
            candidates.retain(|_| present.next().flatten().is_some());
        }
        picked.extend(candidates);
        if flat.len() < 2 * BATCH {
            break;
        }
    }
    let more = picked.len() > limit;
    picked.truncate(limit);
    let next_cursor = if more {
        picked.last().map(|(at, id)| encode_cursor(*at, id))
    } else {
        None
    };
    let ids: Vec<String> = picked.into_iter().map(|(_, id)| id).collect();
    let items = users_by_ids(s, &k, &ids).await?;
    Ok(Page { items, next_cursor })
}

/// Pairs a `WITHSCORES` reply (member, score, member, score, ...).
fn pairs(flat: &[String]) -> StoreResult<Vec<(i64, String)>> {
    flat.chunks(2)
        .map(|c| match c {
            [id, score] => parse_score(score).map(|s| (s, id.clone())),
            _ => Err(StoreError::corrupt(UnexpectedReply(
                "odd WITHSCORES reply".into(),
            ))),
        })
        .collect()
}

fn parse_score(score: &str) -> StoreResult<i64> {
    if let Ok(n) = score.parse::<i64>() {
        return Ok(n);
    }
    // Scores are whole numbers; Redis may still print one in floating notation.
    score
        .parse::<f64>()
        .map(|f| f as i64)
        .map_err(|_| StoreError::corrupt(UnexpectedReply(format!("score {score}"))))
}
