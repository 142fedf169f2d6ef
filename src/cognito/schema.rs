//! A pool's schema through the Cognito API: `CreateUserPool`'s `Schema`,
//! `DescribeUserPool`'s `SchemaAttributes`, and `AddCustomAttributes`. Custom attributes
//! are given by their short name and kept as `custom:{name}` (`dev:{name}` when
//! developer-only), as Cognito names them.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{CognitoError, Ctx, OpResult};
use crate::flow::native::attributes::{STANDARD, schema_problems};
use crate::model::{NumberConstraints, SchemaAttribute, StringConstraints};

/// `SchemaAttributeType` as a caller writes it (every member optional).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SchemaInput {
    pub name: Option<String>,
    pub attribute_data_type: Option<String>,
    pub developer_only_attribute: Option<bool>,
    pub mutable: Option<bool>,
    pub required: Option<bool>,
    pub number_attribute_constraints: Option<NumberConstraints>,
    pub string_attribute_constraints: Option<StringConstraints>,
}

/// One attribute as the pool keeps it: a standard one under its name, a custom one as
/// `custom:{name}` or `dev:{name}`.
fn stored(a: &SchemaInput) -> Result<SchemaAttribute, CognitoError> {
    let name = a
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| CognitoError::invalid_parameter("A schema attribute needs a Name."))?;
    let dev = a.developer_only_attribute.unwrap_or(false);
    let full = if STANDARD.contains(&name) && !dev {
        name.to_owned()
    } else {
        let short = name
            .strip_prefix("custom:")
            .or_else(|| name.strip_prefix("dev:"))
            .unwrap_or(name);
        format!("{}:{short}", if dev { "dev" } else { "custom" })
    };
    Ok(SchemaAttribute {
        name: full,
        attribute_data_type: a
            .attribute_data_type
            .clone()
            .unwrap_or_else(|| "String".into()),
        developer_only_attribute: dev,
        mutable: a.mutable.unwrap_or(true),
        required: a.required.unwrap_or(false),
        number_attribute_constraints: a.number_attribute_constraints.clone(),
        string_attribute_constraints: a.string_attribute_constraints.clone(),
    })
}

/// The schema `Schema` declares, checked.
pub fn schema_from(input: &[SchemaInput]) -> Result<Vec<SchemaAttribute>, CognitoError> {
    let out = input.iter().map(stored).collect::<Result<Vec<_>, _>>()?;
    let problems = schema_problems(&out);
    if !problems.is_empty() {
        return Err(CognitoError::invalid_parameter(problems.join("; ")));
    }
    Ok(out)
}

/// `SchemaAttributes` of `DescribeUserPool`: what the pool declares.
pub fn schema_view(schema: Option<&Vec<SchemaAttribute>>) -> Option<Value> {
    schema.map(|s| json!(s))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddCustomAttributesRequest {
    pub user_pool_id: String,
    pub custom_attributes: Vec<SchemaInput>,
}

/// Adds custom attributes to the pool's schema; one that exists already is refused,
/// and then none is added.
pub async fn add_custom_attributes(ctx: Ctx, input: AddCustomAttributesRequest) -> OpResult {
    if input.custom_attributes.is_empty() {
        return Err(CognitoError::invalid_parameter(
            "CustomAttributes must name at least one attribute.",
        ));
    }
    let mut added = Vec::with_capacity(input.custom_attributes.len());
    for a in &input.custom_attributes {
        let s = stored(a)?;
        if !s.name.contains(':') {
            return Err(CognitoError::invalid_parameter(format!(
                "{} is a standard attribute, not a custom one.",
                s.name
            )));
        }
        added.push(s);
    }
    ctx.admin()
        .add_schema_attributes(&input.user_pool_id, added)
        .await?;
    Ok(json!({}))
}
