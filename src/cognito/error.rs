//! Errors of the Cognito API as Cognito answers them: a `__type` code from the botocore
//! model's error shapes and a sentence, HTTP 400 for the caller's faults and 5xx only
//! for the gateway's own.

use std::fmt;

use crate::admin::AdminError;

/// One Cognito error: `{"__type": code, "message": message}` with `x-amzn-ErrorType`.
#[derive(Clone, PartialEq, Eq)]
pub struct CognitoError {
    /// Cognito's error code (`ResourceNotFoundException`, ...).
    pub code: &'static str,
    pub message: String,
    /// HTTP status: 400 for the caller's faults, 500/503 for the gateway's.
    pub status: u16,
}

impl fmt::Debug for CognitoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.status, self.message)
    }
}

impl fmt::Display for CognitoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for CognitoError {}

impl CognitoError {
    /// A caller's fault (HTTP 400).
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            status: 400,
        }
    }
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new("InvalidParameterException", message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new("ResourceNotFoundException", message)
    }
    pub fn user_not_found() -> Self {
        Self::new("UserNotFoundException", "User does not exist.")
    }
    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new("SerializationException", message)
    }
    pub fn unknown_operation() -> Self {
        Self::new("UnknownOperationException", "")
    }
    /// The gateway's fault: a sentence for the caller, the cause goes to the log once.
    pub fn internal() -> Self {
        Self {
            code: "InternalErrorException",
            message: "Internal error.".into(),
            status: 500,
        }
    }
    pub fn unavailable() -> Self {
        Self {
            code: "InternalErrorException",
            message: "The store is unavailable; retry later.".into(),
            status: 503,
        }
    }
}

impl From<AdminError> for CognitoError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::NotFound("the user") => CognitoError::user_not_found(),
            AdminError::NotFound("the pool") => {
                CognitoError::not_found("User pool does not exist.")
            }
            AdminError::NotFound(what) => {
                CognitoError::not_found(format!("{what} does not exist."))
            }
            AdminError::Conflict(m) => CognitoError::invalid_parameter(m),
            AdminError::Invalid(problems) => CognitoError::invalid_parameter(problems.join("; ")),
            AdminError::LimitExceeded(m) => CognitoError::new("LimitExceededException", m),
            AdminError::Unavailable { .. } => {
                tracing::warn!(error = ?e, "Cognito API: a step is unavailable");
                CognitoError::unavailable()
            }
            AdminError::Internal { .. } => {
                tracing::error!(error = ?e, "Cognito API: internal error");
                CognitoError::internal()
            }
        }
    }
}

/// Turns a body that does not fit an operation's input shape into Cognito's answer:
/// a missing required member is `InvalidParameterException` (Cognito's validation
/// error), anything else (a member of the wrong type) is `SerializationException`.
pub fn from_input_error(e: &serde_json::Error) -> CognitoError {
    let text = e.to_string();
    // serde_json appends " at line L column C" to errors of a text, never to errors of
    // a value; the input here is always a value, so the text is the whole reason.
    if let Some(rest) = text.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or_default();
        return CognitoError::invalid_parameter(format!(
            "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
            lower_first(field)
        ));
    }
    CognitoError::serialization(text)
}

/// `UserPoolId` -> `userPoolId`: how Cognito names members in validation messages.
fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    #[allow(dead_code)]
    struct In {
        user_pool_id: String,
        max_results: Option<u32>,
    }

    #[test]
    fn missing_member_is_invalid_parameter_and_wrong_type_is_serialization() {
        let e = serde_json::from_value::<In>(serde_json::json!({})).unwrap_err();
        let c = from_input_error(&e);
        assert_eq!(c.code, "InvalidParameterException");
        assert!(c.message.contains("'userPoolId'"), "{c:?}");
        let e = serde_json::from_value::<In>(serde_json::json!({"UserPoolId": 5})).unwrap_err();
        assert_eq!(from_input_error(&e).code, "SerializationException");
        let e =
            serde_json::from_value::<In>(serde_json::json!({"UserPoolId": "a", "MaxResults": "x"}))
                .unwrap_err();
        assert_eq!(from_input_error(&e).code, "SerializationException");
    }
}
