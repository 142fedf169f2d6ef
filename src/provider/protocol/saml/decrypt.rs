//! `EncryptedAssertion` (XML Encryption 1.1, as AD FS token encryption writes it):
//! RSA-OAEP key transport, then AES-128/256-CBC or AES-128/256-GCM content.
//!
//! Every failure, from a missing element to a wrong key, bad padding or a failed tag,
//! is the one `SamlError::Decryption`, so the answer reveals nothing about which step
//! failed (no padding or parsing oracle; the caller keeps that rule until the
//! decrypted assertion's signature is verified).

use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cipher::{AES_128, AES_256, DecryptingKey, DecryptionContext, UnboundCipherKey};
use aws_lc_rs::iv::FixedLength;
use aws_lc_rs::rsa::{
    OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepAlgorithm, OaepPrivateDecryptingKey,
    PrivateDecryptingKey,
};

use super::SamlError;
use super::checks::NS_DSIG;
use super::metadata::b64_loose;
use super::xml::Element;

const NS_XENC: &str = "http://www.w3.org/2001/04/xmlenc#";
const NS_XENC11: &str = "http://www.w3.org/2009/xmlenc11#";
const RSA_OAEP_MGF1P: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
const RSA_OAEP_11: &str = "http://www.w3.org/2009/xmlenc11#rsa-oaep";
const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const MGF1_SHA1: &str = "http://www.w3.org/2009/xmlenc11#mgf1sha1";
const MGF1_SHA256: &str = "http://www.w3.org/2009/xmlenc11#mgf1sha256";

#[derive(Clone, Copy)]
enum Content {
    Cbc128,
    Cbc256,
    Gcm128,
    Gcm256,
}

impl Content {
    fn from_uri(u: &str) -> Option<Self> {
        Some(match u {
            "http://www.w3.org/2001/04/xmlenc#aes128-cbc" => Content::Cbc128,
            "http://www.w3.org/2001/04/xmlenc#aes256-cbc" => Content::Cbc256,
            "http://www.w3.org/2009/xmlenc11#aes128-gcm" => Content::Gcm128,
            "http://www.w3.org/2009/xmlenc11#aes256-gcm" => Content::Gcm256,
            _ => return None,
        })
    }
    fn key_len(self) -> usize {
        match self {
            Content::Cbc128 | Content::Gcm128 => 16,
            Content::Cbc256 | Content::Gcm256 => 32,
        }
    }
}

/// An SP decryption key (RSA, PKCS#8 DER).
pub struct DecryptionKey(OaepPrivateDecryptingKey);

impl std::fmt::Debug for DecryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DecryptionKey(..)")
    }
}

impl DecryptionKey {
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, SamlError> {
        let k = PrivateDecryptingKey::from_pkcs8(der)
            .map_err(|_| SamlError::Config("SP encryption key is not an RSA PKCS#8 key".into()))?;
        OaepPrivateDecryptingKey::new(k)
            .map(DecryptionKey)
            .map_err(|_| SamlError::Config("SP encryption key unusable for RSA-OAEP".into()))
    }
}

fn cipher_value(parent: &Element) -> Option<Vec<u8>> {
    let t = parent
        .child(NS_XENC, "CipherData")?
        .child(NS_XENC, "CipherValue")?
        .text()?;
    b64_loose(&t)
}

/// The OAEP parameters of an EncryptedKey's method. The digest and MGF pairs that
/// aws-lc offers are SHA-1/MGF1-SHA-1 and SHA-256/MGF1-SHA-256.
fn oaep(method: &Element) -> Option<&'static OaepAlgorithm> {
    let alg = method.attr("Algorithm")?;
    let digest = method
        .child(NS_DSIG, "DigestMethod")
        .and_then(|d| d.attr("Algorithm"))
        .unwrap_or(SHA1);
    let mgf = match alg {
        RSA_OAEP_MGF1P => MGF1_SHA1,
        RSA_OAEP_11 => method
            .child(NS_XENC11, "MGF")
            .and_then(|m| m.attr("Algorithm"))
            .unwrap_or(MGF1_SHA1),
        _ => return None,
    };
    match (digest, mgf) {
        (SHA1, MGF1_SHA1) => Some(&OAEP_SHA1_MGF1SHA1),
        (SHA256, MGF1_SHA256) => Some(&OAEP_SHA256_MGF1SHA256),
        _ => None,
    }
}

fn unwrap_key(ek: &Element, keys: &[DecryptionKey], want: usize) -> Option<Vec<u8>> {
    let method = ek.child(NS_XENC, "EncryptionMethod")?;
    let alg = oaep(method)?;
    let ct = cipher_value(ek)?;
    for k in keys {
        let mut out = vec![0u8; k.0.min_output_size()];
        if let Ok(pt) = k.0.decrypt(alg, &ct, &mut out, None)
            && pt.len() == want
        {
            return Some(pt.to_vec());
        }
    }
    None
}

fn decrypt_content(kind: Content, key: &[u8], data: &[u8]) -> Option<Vec<u8>> {
    match kind {
        Content::Cbc128 | Content::Cbc256 => {
            let alg = if matches!(kind, Content::Cbc128) {
                &AES_128
            } else {
                &AES_256
            };
            if data.len() < 32 || !data.len().is_multiple_of(16) {
                return None;
            }
            let (iv, ct) = data.split_at(16);
            let iv: [u8; 16] = iv.try_into().ok()?;
            let dk = DecryptingKey::cbc(UnboundCipherKey::new(alg, key).ok()?).ok()?;
            let mut buf = ct.to_vec();
            let pt = dk
                .decrypt(&mut buf, DecryptionContext::Iv128(FixedLength::from(iv)))
                .ok()?;
            // XML Encryption 5.2: the last byte says how many padding bytes to drop;
            // the other padding bytes are arbitrary.
            let pad = usize::from(*pt.last()?);
            if pad == 0 || pad > 16 || pad > pt.len() {
                return None;
            }
            Some(pt[..pt.len() - pad].to_vec())
        }
        Content::Gcm128 | Content::Gcm256 => {
            let alg = if matches!(kind, Content::Gcm128) {
                &AES_128_GCM
            } else {
                &AES_256_GCM
            };
            if data.len() < 12 + 16 {
                return None;
            }
            let (iv, rest) = data.split_at(12);
            let nonce = Nonce::try_assume_unique_for_key(iv).ok()?;
            let k = LessSafeKey::new(UnboundKey::new(alg, key).ok()?);
            let mut buf = rest.to_vec();
            let pt = k.open_in_place(nonce, Aad::empty(), &mut buf).ok()?;
            Some(pt.to_vec())
        }
    }
}

fn try_decrypt(ea: &Element, keys: &[DecryptionKey]) -> Option<String> {
    let ed = ea.child(NS_XENC, "EncryptedData")?;
    let kind = Content::from_uri(ed.child(NS_XENC, "EncryptionMethod")?.attr("Algorithm")?)?;
    // AD FS puts the EncryptedKey in the EncryptedData's KeyInfo; Shibboleth beside it.
    let eks: Vec<&Element> = ed
        .child(NS_DSIG, "KeyInfo")
        .into_iter()
        .flat_map(|ki| ki.children_named(NS_XENC, "EncryptedKey"))
        .chain(ea.children_named(NS_XENC, "EncryptedKey"))
        .collect();
    let cek = eks
        .iter()
        .take(4)
        .find_map(|ek| unwrap_key(ek, keys, kind.key_len()))?;
    let data = cipher_value(ed)?;
    let pt = decrypt_content(kind, &cek, &data)?;
    String::from_utf8(pt).ok()
}

/// Decrypts an `EncryptedAssertion` element into the assertion's XML text.
pub fn decrypt_assertion(ea: &Element, keys: &[DecryptionKey]) -> Result<String, SamlError> {
    try_decrypt(ea, keys).ok_or(SamlError::Decryption)
}
