//! IdP metadata: read with poolgate's own tree, reduced to what is used (entity ID,
//! signing certificates, SSO and SLO endpoints). Metadata without a signing
//! certificate is refused: the engine would otherwise skip signature checks entirely.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::SamlError;
use super::xml::{self, Element};

pub const NS_MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";
pub const BINDING_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
/// Largest metadata document read (AD FS metadata is about 60 KB).
pub const MAX_METADATA: usize = 1_000_000;

/// One IdP signing certificate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SigningCert {
    pub der: Vec<u8>,
    /// Unix seconds of `notAfter`.
    pub not_after: i64,
    pub subject: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IdpMetadata {
    pub entity_id: String,
    /// Every current signing certificate (several during a rollover).
    pub signing_certs: Vec<SigningCert>,
    pub sso_redirect: String,
    pub slo_redirect: Option<String>,
    /// [`IdpMetadata::engine_xml`] as the engine parsed it: once per registration
    /// version (the adapter holding it is rebuilt when the registration changes).
    #[serde(skip)]
    pub engine_md: super::sp::Memo<(String, samael::metadata::EntityDescriptor)>,
}

/// Escapes text for an XML attribute or element.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c => o.push(c),
        }
    }
    o
}

/// Decodes base64 after removing ASCII whitespace (metadata and Shibboleth wrap
/// base64 at 64 or 76 columns).
pub fn b64_loose(s: &str) -> Option<Vec<u8>> {
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(compact).ok()
}

fn parse_cert(der: Vec<u8>) -> Result<SigningCert, SamlError> {
    let (rest, cert) = x509_parser::parse_x509_certificate(&der)
        .map_err(|_| SamlError::Config("a signing certificate is not valid X.509".into()))?;
    if !rest.is_empty() {
        return Err(SamlError::Config(
            "trailing bytes after a signing certificate".into(),
        ));
    }
    let not_after = cert.validity().not_after.timestamp();
    let subject = cert.subject().to_string();
    Ok(SigningCert {
        der,
        not_after,
        subject,
    })
}

fn find_idp(root: &Element) -> Option<(&Element, &Element)> {
    if root.is(NS_MD, "EntityDescriptor") {
        return root.child(NS_MD, "IDPSSODescriptor").map(|idp| (root, idp));
    }
    if root.is(NS_MD, "EntitiesDescriptor") {
        return root.elements().find_map(find_idp);
    }
    None
}

fn redirect_location(idp: &Element, local: &str) -> Option<String> {
    idp.children_named(NS_MD, local)
        .find(|e| e.attr("Binding") == Some(BINDING_REDIRECT))
        .and_then(|e| e.attr("Location"))
        .map(str::to_owned)
}

/// Parses and checks IdP metadata. Refuses metadata without a signing certificate.
pub fn parse_metadata(text: &str) -> Result<IdpMetadata, SamlError> {
    if text.len() > MAX_METADATA {
        return Err(SamlError::Config("the metadata is too large".into()));
    }
    let root = xml::parse(text.trim_start_matches('\u{feff}'))
        .map_err(|e| SamlError::Config(format!("the metadata is not usable XML: {e}")))?;
    let (ed, idp) = find_idp(&root).ok_or_else(|| {
        SamlError::Config("the metadata has no EntityDescriptor with an IDPSSODescriptor".into())
    })?;
    let entity_id = ed
        .attr("entityID")
        .filter(|e| !e.trim().is_empty())
        .ok_or_else(|| SamlError::Config("the metadata has no entityID".into()))?
        .to_owned();
    let mut signing_certs = Vec::new();
    for kd in idp.children_named(NS_MD, "KeyDescriptor") {
        // `use` absent means both signing and encryption (SAML metadata 2.4.1.1).
        if !matches!(kd.attr("use"), None | Some("signing")) {
            continue;
        }
        let certs = kd
            .child(NS_DS, "KeyInfo")
            .into_iter()
            .flat_map(|ki| ki.children_named(NS_DS, "X509Data"))
            .flat_map(|xd| xd.children_named(NS_DS, "X509Certificate"));
        for c in certs {
            let der = c
                .text()
                .and_then(|t| b64_loose(&t))
                .ok_or_else(|| SamlError::Config("a signing certificate is not base64".into()))?;
            let cert = parse_cert(der)?;
            if !signing_certs
                .iter()
                .any(|s: &SigningCert| s.der == cert.der)
            {
                signing_certs.push(cert);
            }
        }
    }
    if signing_certs.is_empty() {
        return Err(SamlError::NoSigningKey);
    }
    let sso_redirect = redirect_location(idp, "SingleSignOnService").ok_or_else(|| {
        SamlError::Config("the metadata has no HTTP-Redirect SingleSignOnService".into())
    })?;
    check_endpoint(&sso_redirect)?;
    let slo_redirect = redirect_location(idp, "SingleLogoutService");
    if let Some(s) = &slo_redirect {
        check_endpoint(s)?;
    }
    Ok(IdpMetadata {
        entity_id,
        signing_certs,
        sso_redirect,
        slo_redirect,
        engine_md: Default::default(),
    })
}

/// IdP endpoints are https, or http on loopback only (interface.md section 2).
fn check_endpoint(u: &str) -> Result<(), SamlError> {
    let url = url::Url::parse(u)
        .map_err(|_| SamlError::Config(format!("IdP endpoint {u:?} is not a URL")))?;
    let ok = match url.scheme() {
        "https" => url.host_str().is_some(),
        "http" => url.host_str().is_some_and(crate::config::is_loopback_host),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(SamlError::Config(format!(
            "IdP endpoint {u:?} must be https (http only on loopback)"
        )))
    }
}

impl IdpMetadata {
    /// Refuses, before every verification, metadata that lost its signing keys.
    pub fn require_keys(&self) -> Result<(), SamlError> {
        if self.signing_certs.is_empty() {
            return Err(SamlError::NoSigningKey);
        }
        Ok(())
    }

    /// The engine's reading of [`IdpMetadata::engine_xml`], parsed on first use. The
    /// document it came from is kept beside it and compared: a copy made with other
    /// certificates (struct update) never uses its origin's reading.
    pub fn engine_descriptor(&self) -> Result<samael::metadata::EntityDescriptor, SamlError> {
        let xml = self.engine_xml();
        if let Some((from, md)) = self.engine_md.get()
            && *from == xml
        {
            return Ok(md.clone());
        }
        let md: samael::metadata::EntityDescriptor = std::str::FromStr::from_str(&xml)
            .map_err(|e| SamlError::Config(format!("engine metadata: {e}")))?;
        let (from, kept) = self.engine_md.get_or_init((xml, md.clone()));
        Ok(if *from == self.engine_xml() {
            kept.clone()
        } else {
            md
        })
    }

    /// A minimal metadata document holding only the vetted signing certificates, for
    /// the engine: it never sees anything of the original document we did not check.
    pub fn engine_xml(&self) -> String {
        let mut keys = String::new();
        for c in &self.signing_certs {
            keys.push_str(&format!(
                "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>",
                STANDARD.encode(&c.der)
            ));
        }
        format!(
            "<md:EntityDescriptor xmlns:md=\"{NS_MD}\" xmlns:ds=\"{NS_DS}\" entityID=\"{}\"><md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">{keys}<md:SingleSignOnService Binding=\"{BINDING_REDIRECT}\" Location=\"{}\"/></md:IDPSSODescriptor></md:EntityDescriptor>",
            esc(&self.entity_id),
            esc(&self.sso_redirect)
        )
    }
}
