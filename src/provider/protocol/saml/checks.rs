//! Structural checks of a SAML Response against XML signature wrapping (XSW1..XSW8),
//! and the reading of the one assertion's facts, all on poolgate's own tree.
//!
//! The rule that defeats every wrapping variant: exactly one element named
//! `Assertion` in the whole document, a direct child of the Response; every
//! `Signature` a direct child of the Response or of that Assertion, with exactly one
//! Reference whose URI is `#` + its parent's ID, and no `Object`. A signature can then
//! only cover its own parent, and what is read is what was signed.

use std::collections::{BTreeMap, HashSet};

use super::SamlError;
use super::xml::Element;

pub const NS_PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub const NS_ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub const NS_DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
pub const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";

/// Signature algorithms accepted (never SHA-1, never HMAC).
pub const SIGNATURE_ALGS: &[&str] = &[
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
];
const DIGEST_ALGS: &[&str] = &[
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmlenc#sha512",
];
const C14N_ALGS: &[&str] = &[
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
];
const TRANSFORMS: &[&str] = &[
    "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
];

/// Which elements carry a signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signed {
    pub response: bool,
    pub assertion: bool,
}

fn structure(msg: &'static str) -> SamlError {
    SamlError::Structure(msg)
}

/// Checks one `ds:Signature` (its parent's ID given) without verifying it: that is the
/// engine's job, restricted to exactly this shape.
fn check_signature(sig: &Element, parent_id: &str) -> Result<(), SamlError> {
    let si = sig
        .child(NS_DSIG, "SignedInfo")
        .ok_or(structure("signature without SignedInfo"))?;
    if sig.child(NS_DSIG, "Object").is_some() {
        return Err(structure("signature with an Object"));
    }
    let c14n = si
        .child(NS_DSIG, "CanonicalizationMethod")
        .and_then(|c| c.attr("Algorithm"))
        .ok_or(structure("signature without canonicalization"))?;
    if !C14N_ALGS.contains(&c14n) {
        return Err(structure("canonicalization method not allowed"));
    }
    let alg = si
        .child(NS_DSIG, "SignatureMethod")
        .and_then(|c| c.attr("Algorithm"))
        .ok_or(structure("signature without method"))?;
    if !SIGNATURE_ALGS.contains(&alg) {
        return Err(SamlError::Algorithm);
    }
    let refs: Vec<&Element> = si.children_named(NS_DSIG, "Reference").collect();
    let [reference] = refs.as_slice() else {
        return Err(structure("a signature must have exactly one reference"));
    };
    if reference.attr("URI") != Some(&format!("#{parent_id}")) {
        return Err(structure("the signature does not reference its parent"));
    }
    let digest = reference
        .child(NS_DSIG, "DigestMethod")
        .and_then(|d| d.attr("Algorithm"))
        .ok_or(structure("reference without digest method"))?;
    if !DIGEST_ALGS.contains(&digest) {
        return Err(SamlError::Algorithm);
    }
    if let Some(ts) = reference.child(NS_DSIG, "Transforms") {
        for t in ts.elements() {
            let ok = t.is(NS_DSIG, "Transform")
                && t.attr("Algorithm").is_some_and(|a| TRANSFORMS.contains(&a));
            if !ok {
                return Err(structure("transform not allowed"));
            }
        }
    }
    Ok(())
}

/// The XSW rule (see the module comment). `encrypted` allows an `EncryptedAssertion`
/// in place of the Assertion (checked again after decryption).
pub fn check_structure(root: &Element, encrypted: bool) -> Result<Signed, SamlError> {
    if !root.is(NS_PROTOCOL, "Response") {
        return Err(structure("the root is not a SAML Response"));
    }
    if root.attr("Version") != Some("2.0") {
        return Err(structure("not SAML 2.0"));
    }
    let mut all = Vec::new();
    root.walk(&mut all, 0);
    // IDs unique across the document: a reference can resolve to one element only.
    let mut ids = HashSet::new();
    for (e, _) in &all {
        for a in e
            .attrs
            .iter()
            // Whatever libxml2 or xmlsec could treat as an ID (`ID`, `Id`, `xml:id`),
            // in any namespace.
            .filter(|a| a.local.eq_ignore_ascii_case("id"))
        {
            if !ids.insert(a.value.as_str()) {
                return Err(structure("duplicate ID"));
            }
        }
    }
    let wanted = if encrypted {
        "EncryptedAssertion"
    } else {
        "Assertion"
    };
    let assertions: Vec<&(&Element, usize)> = all
        .iter()
        .filter(|(e, _)| e.local == "Assertion" || e.local == "EncryptedAssertion")
        .collect();
    let [(assertion, 1)] = assertions.as_slice() else {
        return Err(structure(
            "exactly one assertion, directly in the Response, is required",
        ));
    };
    if !assertion.is(NS_ASSERTION, wanted) {
        return Err(structure("unexpected assertion element"));
    }
    let rid = root.attr("ID").ok_or(structure("Response without ID"))?;
    let mut signed = Signed {
        response: false,
        assertion: false,
    };
    for (e, depth) in &all {
        if e.local != "Signature" {
            continue;
        }
        if !e.is(NS_DSIG, "Signature") {
            return Err(structure("unexpected Signature element"));
        }
        let on_root = *depth == 1 && root.elements().any(|c| std::ptr::eq(c, *e));
        let on_assertion =
            !encrypted && *depth == 2 && assertion.elements().any(|c| std::ptr::eq(c, *e));
        if on_root && !signed.response {
            check_signature(e, rid)?;
            signed.response = true;
        } else if on_assertion && !signed.assertion {
            let aid = assertion
                .attr("ID")
                .ok_or(structure("Assertion without ID"))?;
            check_signature(e, aid)?;
            signed.assertion = true;
        } else {
            return Err(structure("a signature in an unexpected place"));
        }
    }
    Ok(signed)
}

/// The single assertion (after `check_structure`).
pub fn assertion(root: &Element) -> Result<&Element, SamlError> {
    root.child(NS_ASSERTION, "Assertion")
        .ok_or(structure("no assertion"))
}

/// RFC 3339 / xs:dateTime as SAML writes it (UTC), to Unix seconds.
pub fn instant(s: &str) -> Result<i64, SamlError> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .map(|d| d.timestamp())
        .map_err(|_| structure("malformed time"))
}

fn opt_instant(e: &Element, attr: &str) -> Result<Option<i64>, SamlError> {
    e.attr(attr).map(instant).transpose()
}

/// What the relying side checks besides signatures.
pub struct Expect<'a> {
    pub idp_entity_id: &'a str,
    pub sp_entity_id: &'a str,
    pub acs_url: &'a str,
    pub request_id: Option<&'a str>,
    pub now: i64,
    pub skew: i64,
    /// Oldest accepted IssueInstant, in seconds before now (beyond the skew).
    pub max_age: i64,
}

/// Facts of a verified assertion.
#[derive(Clone, Debug, PartialEq)]
pub struct Facts {
    pub assertion_id: String,
    pub issuer: String,
    pub name_id: String,
    pub name_id_format: Option<String>,
    pub session_index: Option<String>,
    pub attributes: BTreeMap<String, Vec<String>>,
    /// Until when the assertion could be accepted (for the replay cache).
    pub valid_until: i64,
}

fn text_of(e: &Element, what: &'static str) -> Result<String, SamlError> {
    e.text().map(|t| t.trim().to_owned()).ok_or(structure(what))
}

/// Checks the Response envelope and the assertion's conditions, and reads its facts.
pub fn check_and_read(root: &Element, x: &Expect<'_>) -> Result<Facts, SamlError> {
    let cond = SamlError::Conditions;
    if let Some(dest) = root.attr("Destination")
        && dest != x.acs_url
    {
        return Err(cond("Destination is not this ACS"));
    }
    let status = root
        .child(NS_PROTOCOL, "Status")
        .and_then(|s| s.child(NS_PROTOCOL, "StatusCode"))
        .and_then(|c| c.attr("Value"));
    if status != Some(STATUS_SUCCESS) {
        return Err(SamlError::Status);
    }
    let resp_irt = root.attr("InResponseTo");
    match (x.request_id, resp_irt) {
        (Some(want), Some(got)) if want != got => return Err(cond("InResponseTo mismatch")),
        (None, Some(_)) => return Err(cond("InResponseTo of an unknown request")),
        _ => {}
    }
    if let Some(iss) = root.child(NS_ASSERTION, "Issuer")
        && text_of(iss, "Issuer")? != x.idp_entity_id
    {
        return Err(cond("Response Issuer is not the IdP"));
    }
    let a = assertion(root)?;
    if a.has_comment_below() {
        return Err(structure("a comment inside the assertion"));
    }
    let assertion_id = a.attr("ID").ok_or(structure("Assertion without ID"))?;
    let issue = instant(a.attr("IssueInstant").ok_or(structure("no IssueInstant"))?)?;
    if issue > x.now + x.skew || issue + x.max_age + x.skew < x.now {
        return Err(cond("IssueInstant out of range"));
    }
    let issuer = text_of(
        a.child(NS_ASSERTION, "Issuer")
            .ok_or(structure("Assertion without Issuer"))?,
        "Issuer",
    )?;
    if issuer != x.idp_entity_id {
        return Err(cond("Assertion Issuer is not the IdP"));
    }
    let mut valid_until = x.now + x.skew;
    let c = a
        .child(NS_ASSERTION, "Conditions")
        .ok_or(cond("no Conditions"))?;
    if let Some(nb) = opt_instant(c, "NotBefore")?
        && x.now + x.skew < nb
    {
        return Err(cond("NotBefore in the future"));
    }
    let noa = opt_instant(c, "NotOnOrAfter")?.ok_or(cond("Conditions without NotOnOrAfter"))?;
    if noa + x.skew <= x.now {
        return Err(cond("Conditions expired"));
    }
    valid_until = valid_until.max(noa + x.skew);
    // Every AudienceRestriction must name us (SAML core 2.5.1.4); at least one needed.
    let restrictions: Vec<&Element> = c
        .children_named(NS_ASSERTION, "AudienceRestriction")
        .collect();
    if restrictions.is_empty() {
        return Err(cond("no AudienceRestriction"));
    }
    for r in restrictions {
        let mut ok = false;
        for aud in r.children_named(NS_ASSERTION, "Audience") {
            ok |= text_of(aud, "Audience")? == x.sp_entity_id;
        }
        if !ok {
            return Err(cond("Audience is not this SP"));
        }
    }
    let subject = a
        .child(NS_ASSERTION, "Subject")
        .ok_or(structure("no Subject"))?;
    let name_id_el = subject
        .child(NS_ASSERTION, "NameID")
        .ok_or(structure("no NameID (EncryptedID is not supported)"))?;
    let name_id = text_of(name_id_el, "NameID")?;
    if name_id.is_empty() || name_id.len() > 512 || name_id.chars().any(char::is_control) {
        return Err(structure("unusable NameID"));
    }
    // One bearer confirmation must match: recipient, time, request.
    let mut confirmed = false;
    for sc in subject.children_named(NS_ASSERTION, "SubjectConfirmation") {
        if sc.attr("Method") != Some(BEARER) {
            continue;
        }
        let Some(d) = sc.child(NS_ASSERTION, "SubjectConfirmationData") else {
            continue;
        };
        let Some(sc_noa) = opt_instant(d, "NotOnOrAfter")? else {
            continue;
        };
        let nb_ok = opt_instant(d, "NotBefore")?.is_none_or(|nb| nb <= x.now + x.skew);
        let irt_ok = d.attr("InResponseTo") == x.request_id;
        if d.attr("Recipient") == Some(x.acs_url) && sc_noa + x.skew > x.now && nb_ok && irt_ok {
            confirmed = true;
            valid_until = valid_until.max(sc_noa + x.skew);
        }
    }
    if !confirmed {
        return Err(cond(
            "no bearer SubjectConfirmation for this ACS and request",
        ));
    }
    let session_index = a
        .child(NS_ASSERTION, "AuthnStatement")
        .and_then(|s| s.attr("SessionIndex"))
        .map(str::to_owned);
    let mut attributes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for st in a.children_named(NS_ASSERTION, "AttributeStatement") {
        for at in st.children_named(NS_ASSERTION, "Attribute") {
            let Some(name) = at.attr("Name") else {
                continue;
            };
            let values = attributes.entry(name.to_owned()).or_default();
            for v in at.children_named(NS_ASSERTION, "AttributeValue") {
                values.push(text_of(v, "AttributeValue")?);
            }
        }
    }
    Ok(Facts {
        assertion_id: assertion_id.to_owned(),
        issuer,
        name_id,
        name_id_format: name_id_el.attr("Format").map(str::to_owned),
        session_index,
        attributes,
        valid_until,
    })
}
