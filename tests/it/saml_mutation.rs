//! A bounded, seeded mutation test over the ACS input path (the stable-toolchain
//! companion of `fuzz/fuzz_targets/acs.rs`): random edits of a genuine signed
//! response must never panic, and anything accepted must be the signed identity.

use poolgate::provider::protocol::saml::sp::SpKeys;
use poolgate::provider::protocol::saml::{SamlVerifyContext, parse_metadata, verify_response};

use super::saml_fixtures::*;

const SP: &str = "urn:poolgate:sp:default";
const ACS: &str = "https://login.acme.test/saml2/idpresponse";
const REQ: &str = "_0123456789abcdef0123456789abcdef";
const SNIPPETS: &[&str] = &[
    "<!---->",
    "<!DOCTYPE r [<!ENTITY x \"y\">]>",
    "&x;",
    "<![CDATA[x]]>",
    "<saml:Assertion ID=\"_e\">",
    "</saml:Assertion>",
    "<ds:Object>",
    " ID=\"_x\"",
    "CORP\\admin",
    "<?pi x?>",
];

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn mutate(seed: &str, rng: &mut Rng) -> Vec<u8> {
    let mut doc = seed.as_bytes().to_vec();
    for _ in 0..1 + rng.below(4) {
        let pos = rng.below(doc.len() + 1);
        match rng.below(4) {
            0 if pos < doc.len() => doc[pos] = rng.next() as u8,
            1 => doc.insert(pos, rng.next() as u8),
            2 if pos < doc.len() => {
                doc.remove(pos);
            }
            _ => {
                let s = SNIPPETS[rng.below(SNIPPETS.len())];
                doc.splice(pos..pos, s.bytes());
            }
        }
    }
    doc
}

#[test]
fn random_edits_never_forge_a_sign_in() {
    let idp = Idp::new("http://adfs.corp.example/adfs/services/trust");
    let md =
        parse_metadata(&idp.metadata("https://adfs.corp.example/adfs/ls/", None, &[])).unwrap();
    let sp = SpKeys::generate("default", now()).unwrap();
    let keys = sp.decryption_keys();
    let mut spec = Spec::adfs(&idp, SP, ACS, Some(REQ));
    spec.sign_response = true;
    let seed = response(&spec, &idp);
    let ctx = SamlVerifyContext {
        idp: &md,
        sp_entity_id: SP,
        acs_url: ACS,
        allow_idp_initiated: false,
        require_encrypted: false,
        clock_skew_s: 120,
        now: now(),
        decryption_keys: keys,
    };
    let mut rng = Rng(0x5EED_5A41_2026_0004);
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..400 {
        let doc = mutate(&seed, &mut rng);
        let form = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &doc);
        match verify_response(form.as_bytes(), Some(REQ), &ctx) {
            Ok(v) => {
                accepted += 1;
                assert_eq!(v.name_id, "CORP\\jdoe", "{}", String::from_utf8_lossy(&doc));
                assert_eq!(v.assertion_id, spec.assertion_id);
                assert_eq!(v.attributes.len(), spec.attributes.len());
            }
            Err(_) => refused += 1,
        }
    }
    // The genuine response still passes, and most edits are refused.
    verify_response(b64(&seed).as_bytes(), Some(REQ), &ctx).unwrap();
    assert!(refused > accepted, "accepted {accepted}, refused {refused}");
}
