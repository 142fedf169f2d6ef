//! Partial updates of a user: each writer names only the fields it owns, so that two
//! writers racing never write back each other's stale values (a sign-in's attribute
//! update never undoes a disable or a global sign-out landing meanwhile).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::User;

/// The fields of a user one write changes; `None` leaves the stored value as it is at
/// the moment of the write.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UserPatch {
    pub enabled: Option<bool>,
    pub tokens_valid_after: Option<i64>,
    /// `Some(None)` clears the email.
    pub email: Option<Option<String>>,
    pub email_norm: Option<Option<String>>,
    pub email_verified: Option<bool>,
    /// Attributes set (added or replaced); the others are kept.
    pub set_attributes: BTreeMap<String, Value>,
    /// Attributes removed.
    pub remove_attributes: Vec<String>,
    pub groups: Option<Vec<String>>,
    pub updated_at: Option<i64>,
}

impl UserPatch {
    /// Applies the patch to a copy read inside the backend's atomic step.
    pub fn apply(&self, user: &mut User) {
        if let Some(v) = self.enabled {
            user.enabled = v;
        }
        if let Some(v) = self.tokens_valid_after {
            user.tokens_valid_after = v;
        }
        if let Some(v) = &self.email {
            user.email.clone_from(v);
        }
        if let Some(v) = &self.email_norm {
            user.email_norm.clone_from(v);
        }
        if let Some(v) = self.email_verified {
            user.email_verified = v;
        }
        for (k, v) in &self.set_attributes {
            user.attributes.insert(k.clone(), v.clone());
        }
        for k in &self.remove_attributes {
            user.attributes.remove(k);
        }
        if let Some(v) = &self.groups {
            user.groups.clone_from(v);
        }
        if let Some(v) = self.updated_at {
            user.updated_at = v;
        }
    }
}
