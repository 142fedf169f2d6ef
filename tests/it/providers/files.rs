//! The example registrations in the top-level `providers/` are valid bodies of their
//! type once their `${VAR}`s are filled in.

use poolgate::provider::registry;

use super::*;
use crate::fakes::jwt;
use crate::harness::ptype;

/// Fills every `${VAR}` outside comments (TOML-escaped, as the loader does).
fn fill(text: &str, pem: &str) -> String {
    let mut out = String::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let mut rest = line;
        while let Some(i) = rest.find("${") {
            let end = rest[i..].find('}').unwrap() + i;
            let var = &rest[i + 2..end];
            let value = match var {
                "APPLE_PRIVATE_KEY" => pem.replace('\n', "\\n"),
                v if v.ends_with("ISSUER") => "https://idp.example.com".to_owned(),
                v => format!("value-of-{v}"),
            };
            out.push_str(&rest[..i]);
            out.push_str(&value);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out.push('\n');
    }
    out
}

#[test]
fn example_files_validate() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("providers");
    let (pem, _) = jwt::generate_p8();
    let mut seen = Vec::new();
    for name in ["oidc", "google", "facebook", "apple", "amazon"] {
        let text = std::fs::read_to_string(dir.join(format!("{name}.toml"))).unwrap();
        assert!(
            text.contains("/oauth2/idpresponse"),
            "{name}: says which redirect URI to register"
        );
        let table: toml::Table = toml::from_str(&fill(&text, &pem)).unwrap();
        let body = serde_json::to_value(&table).unwrap();
        let t = ptype(body["type"].as_str().unwrap());
        let mut rec = record(
            t.clone(),
            body["name"].as_str().unwrap(),
            body["details"].clone(),
        );
        rec.attribute_mapping = serde_json::from_value(body["attribute_mapping"].clone()).unwrap();
        registry::validate(&rec).unwrap_or_else(|e| panic!("{name}.toml: {e:?}"));
        // The file's mapping is the kind's default mapping, written out.
        let defaults: std::collections::BTreeMap<String, String> = registry::kind(&t)
            .default_mapping()
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(rec.attribute_mapping, defaults, "{name}.toml mapping");
        seen.push(t);
    }
    assert_eq!(seen.len(), 5);
}
