//! A small namespace-aware element tree of a SAML message, built with quick-xml. The
//! structural checks and every value poolgate reads come from this tree, never from
//! the engine's own parse, so the two parsers can be compared.
//!
//! Refused while reading: a DOCTYPE (so no entity can be declared or expanded), an
//! undeclared entity, a processing instruction after the XML declaration, unbound
//! prefixes, duplicate attributes, more than `MAX_DEPTH` levels or `MAX_NODES` nodes.

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

/// Deep enough for every SAML message seen in practice; far less than a stack.
const MAX_DEPTH: usize = 48;
const MAX_NODES: usize = 20_000;

#[derive(Clone, Debug, PartialEq)]
pub struct Attr {
    pub ns: Option<String>,
    pub local: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Element(Element),
    Text(String),
    Comment,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Element {
    pub ns: Option<String>,
    pub local: String,
    pub attrs: Vec<Attr>,
    pub children: Vec<Node>,
    /// Byte range of the whole element in the source text.
    pub span: (usize, usize),
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum XmlError {
    #[error("not well-formed XML")]
    Syntax,
    #[error("DOCTYPE, entity declarations and processing instructions are refused")]
    Forbidden,
    #[error("the document is too deep or too large")]
    TooLarge,
}

impl Element {
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.local == local && self.ns.as_deref() == Some(ns)
    }

    /// An attribute without namespace (SAML's own attributes are unqualified).
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.is_none() && a.local == local)
            .map(|a| a.value.as_str())
    }

    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            _ => None,
        })
    }

    pub fn child(&self, ns: &str, local: &str) -> Option<&Element> {
        self.elements().find(|e| e.is(ns, local))
    }

    pub fn children_named<'a>(
        &'a self,
        ns: &'a str,
        local: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.elements().filter(move |e| e.is(ns, local))
    }

    /// The element's whole text (every text and CDATA child, concatenated). `None`
    /// when a comment or a child element splits it: a value must never be read as the
    /// part before a comment (the NameID truncation attack).
    pub fn text(&self) -> Option<String> {
        let mut out = String::new();
        for c in &self.children {
            match c {
                Node::Text(t) => out.push_str(t),
                Node::Comment | Node::Element(_) => return None,
            }
        }
        Some(out)
    }

    /// Every descendant element, depth first, this one included.
    pub fn walk<'a>(&'a self, out: &mut Vec<(&'a Element, usize)>, depth: usize) {
        out.push((self, depth));
        for e in self.elements() {
            e.walk(out, depth + 1);
        }
    }

    pub fn has_comment_below(&self) -> bool {
        self.children.iter().any(|c| match c {
            Node::Comment => true,
            Node::Element(e) => e.has_comment_below(),
            Node::Text(_) => false,
        })
    }
}

fn ns_of(r: &ResolveResult<'_>) -> Result<Option<String>, XmlError> {
    match r {
        ResolveResult::Bound(ns) => std::str::from_utf8(ns.as_ref())
            .map(|s| Some(s.to_owned()))
            .map_err(|_| XmlError::Syntax),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(_) => Err(XmlError::Syntax),
    }
}

fn illegal_char(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
}

fn predefined(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        _ => return None,
    })
}

fn push_text(stack: &mut [Element], text: &str) {
    if let Some(top) = stack.last_mut() {
        if let Some(Node::Text(t)) = top.children.last_mut() {
            t.push_str(text);
        } else {
            top.children.push(Node::Text(text.to_owned()));
        }
    }
}

fn start_element(
    reader: &NsReader<&[u8]>,
    e: &quick_xml::events::BytesStart<'_>,
    from: usize,
) -> Result<Element, XmlError> {
    let (res, _) = reader.resolver().resolve_element(e.name());
    let ns = ns_of(&res)?;
    let local = std::str::from_utf8(e.local_name().as_ref())
        .map_err(|_| XmlError::Syntax)?
        .to_owned();
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|_| XmlError::Syntax)?;
        let key = a.key.as_ref();
        if key == b"xmlns" || key.starts_with(b"xmlns:") {
            continue;
        }
        let (ans, alocal) = reader.resolver().resolve_attribute(a.key);
        let ns = ns_of(&ans)?;
        let alocal = std::str::from_utf8(alocal.as_ref())
            .map_err(|_| XmlError::Syntax)?
            .to_owned();
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|_| XmlError::Syntax)?
            .into_owned();
        attrs.push(Attr {
            ns,
            local: alocal,
            value,
        });
    }
    if attrs.len() > 64 {
        return Err(XmlError::TooLarge);
    }
    Ok(Element {
        ns,
        local,
        attrs,
        children: Vec::new(),
        span: (from, from),
    })
}

/// Parses a whole document into its root element.
pub fn parse(text: &str) -> Result<Element, XmlError> {
    // Characters XML 1.0 forbids: libxml2 drops some of them silently while the digest
    // is computed, so a value could differ from what was signed (found by fuzzing).
    if text.chars().any(illegal_char) {
        return Err(XmlError::Syntax);
    }
    let mut reader = NsReader::from_reader(text.as_bytes());
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut nodes = 0usize;
    loop {
        let from = reader.buffer_position() as usize;
        let ev = reader.read_event().map_err(|_| XmlError::Syntax)?;
        let to = reader.buffer_position() as usize;
        nodes += 1;
        if nodes > MAX_NODES {
            return Err(XmlError::TooLarge);
        }
        let inside = !stack.is_empty();
        match ev {
            Event::Start(e) | Event::Empty(e) if root.is_some() => {
                let _ = e;
                return Err(XmlError::Syntax);
            }
            Event::Start(e) => {
                let el = start_element(&reader, &e, from)?;
                stack.push(el);
                if stack.len() > MAX_DEPTH {
                    return Err(XmlError::TooLarge);
                }
            }
            Event::Empty(e) => {
                let mut el = start_element(&reader, &e, from)?;
                el.span = (from, to);
                match stack.last_mut() {
                    Some(top) => top.children.push(Node::Element(el)),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let mut el = stack.pop().ok_or(XmlError::Syntax)?;
                el.span.1 = to;
                match stack.last_mut() {
                    Some(top) => top.children.push(Node::Element(el)),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let s = t.xml10_content().map_err(|_| XmlError::Syntax)?;
                if inside {
                    push_text(&mut stack, &s);
                } else if !s.trim_matches([' ', '\t', '\r', '\n']).is_empty() {
                    return Err(XmlError::Syntax);
                }
            }
            Event::CData(t) => {
                if !inside {
                    return Err(XmlError::Syntax);
                }
                let s = t.decode().map_err(|_| XmlError::Syntax)?;
                push_text(&mut stack, &s.replace("\r\n", "\n"));
            }
            Event::GeneralRef(r) => {
                if !inside {
                    return Err(XmlError::Syntax);
                }
                let c = match r.resolve_char_ref().map_err(|_| XmlError::Syntax)? {
                    Some(c) => c,
                    None => {
                        let name = r.decode().map_err(|_| XmlError::Syntax)?;
                        predefined(&name).ok_or(XmlError::Forbidden)?
                    }
                };
                if illegal_char(c) {
                    return Err(XmlError::Syntax);
                }
                push_text(&mut stack, c.encode_utf8(&mut [0u8; 4]));
            }
            Event::Comment(_) => {
                if let Some(top) = stack.last_mut() {
                    top.children.push(Node::Comment);
                }
            }
            Event::Decl(_) if from == 0 => {}
            Event::Decl(_) | Event::PI(_) | Event::DocType(_) => return Err(XmlError::Forbidden),
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Syntax);
    }
    root.ok_or(XmlError::Syntax)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_and_text() {
        let doc = r#"<?xml version="1.0"?><a:r xmlns:a="urn:a" ID="x"><a:n>us&amp;er<![CDATA[<1>]]>&#65;</a:n><b/></a:r>"#;
        let r = parse(doc).unwrap();
        assert!(r.is("urn:a", "r"));
        assert_eq!(r.attr("ID"), Some("x"));
        assert_eq!(r.child("urn:a", "n").unwrap().text().unwrap(), "us&er<1>A");
        assert_eq!(r.span, (21, doc.len()));
        let b = r.elements().nth(1).unwrap();
        assert_eq!(&doc[b.span.0..b.span.1], "<b/>");
    }

    #[test]
    fn refusals() {
        assert_eq!(
            parse("<!DOCTYPE r [<!ENTITY x \"y\">]><r>&x;</r>"),
            Err(XmlError::Forbidden)
        );
        assert_eq!(parse("<r>&x;</r>"), Err(XmlError::Forbidden));
        assert_eq!(parse("<r><?pi x?></r>"), Err(XmlError::Forbidden));
        assert_eq!(parse("<r><a></b></r>"), Err(XmlError::Syntax));
        assert_eq!(parse("<p:r/>"), Err(XmlError::Syntax));
        assert_eq!(parse("<r a='1' a='2'/>"), Err(XmlError::Syntax));
        assert_eq!(parse("<r/><r/>"), Err(XmlError::Syntax));
        assert_eq!(parse("<r>a\u{19}b</r>"), Err(XmlError::Syntax));
        assert_eq!(parse("<r>a&#x19;b</r>"), Err(XmlError::Syntax));
        assert!(
            parse("<r>a&#x9;b&#10;</r>").is_ok(),
            "tab and newline are allowed"
        );
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert_eq!(parse(&deep), Err(XmlError::TooLarge));
    }

    #[test]
    fn comment_splits_text() {
        let r = parse("<r><n>admin@a.com<!-- x -->.evil.com</n></r>").unwrap();
        assert_eq!(r.elements().next().unwrap().text(), None);
        assert!(r.has_comment_below());
    }
}
