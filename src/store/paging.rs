//! Paging of listings, the same for every backend: the page-size clamp and the opaque
//! cursor (the position of the last item of the previous page, `created_at:id`,
//! base64url so that it stays URL-safe).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{StoreError, StoreResult};

/// Smallest and largest page.
pub const MIN_PAGE: usize = 1;
pub const MAX_PAGE: usize = 60;

/// The page size a listing uses for a requested `limit`.
pub fn clamp_page(limit: usize) -> usize {
    limit.clamp(MIN_PAGE, MAX_PAGE)
}

/// A position in an order by (created_at, id).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub created_at: i64,
    pub id: String,
}

pub fn encode_cursor(created_at: i64, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{created_at}:{id}"))
}

/// The position a cursor names; `Invalid` for anything this code did not issue.
pub fn decode_cursor(cursor: &str) -> StoreResult<Position> {
    let invalid = || StoreError::Invalid("invalid cursor".into());
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (created_at, id) = text.split_once(':').ok_or_else(invalid)?;
    Ok(Position {
        created_at: created_at.parse().map_err(|_| invalid())?,
        id: id.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip_and_garbage() {
        let c = encode_cursor(42, "u-1:x");
        assert_eq!(
            decode_cursor(&c).unwrap(),
            Position {
                created_at: 42,
                id: "u-1:x".into()
            }
        );
        for bad in ["%%", "", "bm8tY29sb24", &URL_SAFE_NO_PAD.encode("x:y")] {
            assert!(
                matches!(decode_cursor(bad), Err(StoreError::Invalid(_))),
                "{bad}"
            );
        }
        assert_eq!(clamp_page(0), 1);
        assert_eq!(clamp_page(1000), 60);
    }
}
