//! Answers as poolgate sent them, checked against botocore's model
//! (tests/fixtures/cognito-idp-model.json): every member a member of its shape, of its
//! shape's type. boto3 drops members it does not know, so the raw answer is checked.

use std::sync::LazyLock;

use serde_json::Value;

static MODEL: LazyLock<Value> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../../fixtures/cognito-idp-model.json")).unwrap()
});

fn check(shape_name: &str, v: &Value, path: &str, problems: &mut Vec<String>) {
    let shape = &MODEL["shapes"][shape_name];
    let ok = match shape["type"].as_str().unwrap_or_default() {
        "structure" => {
            let Some(obj) = v.as_object() else {
                problems.push(format!("{path}: not an object ({shape_name})"));
                return;
            };
            for (k, member) in obj {
                match shape["members"][k].as_str() {
                    Some(s) => check(s, member, &format!("{path}.{k}"), problems),
                    None => problems.push(format!("{path}.{k}: not a member of {shape_name}")),
                }
            }
            true
        }
        "list" => {
            let Some(items) = v.as_array() else {
                problems.push(format!("{path}: not a list ({shape_name})"));
                return;
            };
            let m = shape["member"].as_str().unwrap_or_default();
            for (i, item) in items.iter().enumerate() {
                check(m, item, &format!("{path}[{i}]"), problems);
            }
            true
        }
        "map" => {
            let Some(obj) = v.as_object() else {
                problems.push(format!("{path}: not a map ({shape_name})"));
                return;
            };
            let m = shape["value"].as_str().unwrap_or_default();
            for (k, item) in obj {
                check(m, item, &format!("{path}.{k}"), problems);
            }
            true
        }
        "string" => {
            v.is_string()
                && shape["enum"]
                    .as_array()
                    .is_none_or(|e| e.iter().any(|x| x == v))
        }
        "boolean" => v.is_boolean(),
        "integer" | "long" => v.is_i64() || v.is_u64(),
        "timestamp" | "double" | "float" => v.is_number(),
        "blob" => v.is_string(),
        other => {
            problems.push(format!("{path}: unknown shape type {other}"));
            true
        }
    };
    if !ok {
        problems.push(format!("{path}: {v} does not fit {shape_name}"));
    }
}

/// The problems of an operation's raw answer against its output shape.
pub fn answer_problems(op: &str, raw: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    match MODEL["operations"][op]["output"].as_str() {
        Some(shape) => check(shape, raw, op, &mut problems),
        None if raw.as_object().is_some_and(|o| o.is_empty()) => {}
        None => problems.push(format!("{op}: the model has no output, got {raw}")),
    }
    problems
}
