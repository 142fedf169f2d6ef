//! The served operations against botocore's model (tests/fixtures/cognito-idp-model.json,
//! written by scripts/cognito-model.py): each is an operation of the model, signed as
//! the model says, and reads only members of its input shape.

use serde_json::Value;

use super::OPERATIONS;

fn model() -> Value {
    serde_json::from_str(include_str!("../../tests/fixtures/cognito-idp-model.json")).unwrap()
}

#[test]
fn every_served_operation_is_in_the_vendored_model_and_signed_as_it_says() {
    let m = model();
    for op in OPERATIONS {
        let entry = &m["operations"][op.name];
        assert!(
            entry.is_object(),
            "{} is missing in tests/fixtures/cognito-idp-model.json: run scripts/cognito-model.py",
            op.name
        );
        assert_eq!(
            entry["signed"], op.signed,
            "{}: SigV4 or not, as the model",
            op.name
        );
    }
}

#[test]
fn input_types_read_only_members_of_the_model_input_shape() {
    let m = model();
    for op in OPERATIONS {
        let shape = m["operations"][op.name]["input"]
            .as_str()
            .unwrap_or_default();
        let members = &m["shapes"][shape]["members"];
        for field in (op.input_fields)() {
            assert!(
                members.get(field).is_some(),
                "{}: the input member {field} is not in the model's {shape}",
                op.name
            );
        }
    }
}

#[test]
fn the_probe_finds_struct_fields() {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "PascalCase")]
    #[allow(dead_code)]
    struct In {
        user_pool_id: String,
        max_results: Option<i64>,
    }
    assert_eq!(
        super::introspect::fields::<In>(),
        ["UserPoolId", "MaxResults"]
    );
    assert!(super::introspect::fields::<Value>().is_empty());
}
