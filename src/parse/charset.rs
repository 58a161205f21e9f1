//! Charset decoding: bytes of any encoding → UTF-8 text.

/// A decoded document.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// The text, valid UTF-8, without a BOM. For XML documents the encoding
    /// pseudo-attribute of the declaration now says `UTF-8`, so that the XML
    /// parser does not decode a second time.
    pub text: String,
    /// The encoding the bytes were read as (its WHATWG name).
    pub encoding: &'static str,
    /// Where that choice came from: "http", "bom", "declaration", "detected", "default".
    pub source: &'static str,
    /// True when some bytes could not be decoded and became U+FFFD.
    pub had_errors: bool,
}

/// Decodes `bytes`. Order: BOM, HTTP charset of `content_type`, XML
/// declaration (or `<meta charset>`), detection; GB2312/GBK as GB18030.
pub fn decode(_bytes: &[u8], _content_type: Option<&str>) -> Decoded {
    todo!()
}
