//! URL resolution and canonical form.
//!
//! The canonical form is what makes the same story in two feeds one article
//! (see [`crate::dedupe`]), so it only drops what never changes the page:
//! the fragment, a default port, letter case in scheme and host, and query
//! parameters that exist purely to track the click. Everything else (path,
//! meaningful parameters, their order and their encoding) is kept as the
//! publisher wrote it, since servers are free to treat those as significant.

use url::Url;

/// Resolves `href` against `base` (when relative), as the `url` crate does:
/// surrounding blanks trimmed, dot segments removed, host lowercased and
/// IDNA-encoded. Any scheme is accepted (a link in HTML may be `mailto:`);
/// `None` when `href` is relative with no base, or not a URL at all.
pub fn resolve(href: &str, base: Option<&Url>) -> Option<Url> {
    Url::options().base_url(base).parse(href.trim()).ok()
}

/// Resolves `href` against `base` (when relative) and returns its canonical
/// form: scheme and host lowercased, default port and fragment dropped,
/// tracking parameters removed. `None` when it is not an http(s) URL.
pub fn canonicalize(href: &str, base: Option<&Url>) -> Option<String> {
    // An empty href resolves to the base itself: for an article that means
    // it has no link, not that it links to its feed.
    if href.trim().is_empty() {
        return None;
    }
    let mut url = resolve(href, base)?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return None;
    }
    url.set_fragment(None);
    if let Some(query) = url.query() {
        let kept = query
            .split('&')
            .filter(|param| !param.is_empty() && !is_tracking(param))
            .collect::<Vec<_>>()
            .join("&");
        url.set_query((!kept.is_empty()).then_some(kept.as_str()));
    }
    Some(url.into())
}

/// Parameters that identify a campaign, a click or a mailing, never the
/// page: analytics (Google, Matomo, AT Internet, Adobe), ad clicks
/// (Google, Microsoft, Meta, Yandex, TikTok, X, LinkedIn) and mailing tools
/// (Mailchimp, HubSpot, Marketo, Vero, Wicked Reports, Omeda).
/// Ambiguous names that some sites use for content (`ref`, `source`, `cmp`,
/// `cmpid`, `from`) stay.
const TRACKING: &[&str] = &[
    "fbclid",
    "gclid",
    "gclsrc",
    "dclid",
    "gbraid",
    "wbraid",
    "msclkid",
    "yclid",
    "ttclid",
    "twclid",
    "li_fat_id",
    "igshid",
    "srsltid",
    "mc_cid",
    "mc_eid",
    "_ga",
    "_gl",
    "_hsenc",
    "_hsmi",
    "__hstc",
    "__hssc",
    "__hsfp",
    "hsctatracking",
    "mkt_tok",
    "oly_anon_id",
    "oly_enc_id",
    "vero_id",
    "vero_conv",
    "wickedid",
    "ref_src",
    "xtor",
    "at_medium",
    "at_campaign",
    "pk_campaign",
    "pk_kwd",
    "pk_keyword",
    "pk_source",
    "pk_medium",
    "pk_content",
    "s_kwcid",
    "ef_id",
    "_openstat",
    "__twitter_impression",
];

/// Prefixes of whole families of tracking parameters: Google Analytics
/// campaigns, Matomo campaigns, HubSpot ads.
const TRACKING_PREFIXES: &[&str] = &["utm_", "mtm_", "hsa_"];

/// Whether one `name=value` query parameter is a tracking one. The name is
/// compared decoded and without regard to case (`UTM_Source`, `utm%5Fsource`).
fn is_tracking(param: &str) -> bool {
    let name = param.split('=').next().unwrap_or(param);
    let Some((name, _)) = url::form_urlencoded::parse(name.as_bytes()).next() else {
        return false;
    };
    let name = name.to_ascii_lowercase();
    TRACKING.contains(&name.as_str())
        || TRACKING_PREFIXES
            .iter()
            .any(|prefix| name.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Canonicalizes `href` against `base` and compares with `expected`.
    #[track_caller]
    fn check(href: &str, base: Option<&str>, expected: Option<&str>) {
        let base = base.map(|b| Url::parse(b).expect("test base is a URL"));
        assert_eq!(
            canonicalize(href, base.as_ref()).as_deref(),
            expected,
            "canonicalizing {href:?} against {base:?}"
        );
    }

    fn table(base: Option<&str>, cases: &[(&str, Option<&str>)]) {
        for &(href, expected) in cases {
            check(href, base, expected);
        }
    }

    #[test]
    fn tracking_parameters_removed() {
        table(
            None,
            &[
                (
                    "https://example.com/story?utm_source=rss&utm_medium=feed&utm_campaign=x",
                    Some("https://example.com/story"),
                ),
                (
                    "https://example.com/story?id=42&utm_source=rss&page=2",
                    Some("https://example.com/story?id=42&page=2"),
                ),
                (
                    "https://example.com/s?fbclid=abc&p=7&gclid=x&mc_cid=1&mc_eid=2",
                    Some("https://example.com/s?p=7"),
                ),
                (
                    "https://example.com/s?article=9&_ga=1.2&_gl=3&yclid=4&msclkid=5&dclid=6&gbraid=7&wbraid=8",
                    Some("https://example.com/s?article=9"),
                ),
                (
                    "https://example.com/s?igshid=1&mkt_tok=2&oly_anon_id=3&oly_enc_id=4&vero_id=5&wickedid=6&story=1",
                    Some("https://example.com/s?story=1"),
                ),
                (
                    "https://example.com/s?_hsenc=1&_hsmi=2&hsCtaTracking=3&ref_src=twsrc&xtor=RSS-3208",
                    Some("https://example.com/s"),
                ),
                // Case and encoding of the name do not hide it.
                (
                    "https://example.com/s?UTM_Source=x&utm%5Fmedium=y&a=1",
                    Some("https://example.com/s?a=1"),
                ),
                // Meaningful parameters keep their order, encoding and form.
                (
                    "https://example.com/s?z=1&a=%E4%B8%AD&q=a+b&utm_term=t&flag&id=",
                    Some("https://example.com/s?z=1&a=%E4%B8%AD&q=a+b&flag&id="),
                ),
                // Names that merely contain a tracking name stay.
                (
                    "https://example.com/s?my_utm_source=1&gclid_x=2",
                    Some("https://example.com/s?my_utm_source=1&gclid_x=2"),
                ),
                // Ambiguous names stay.
                (
                    "https://example.com/s?ref=home&cmpid=rss&source=feed",
                    Some("https://example.com/s?ref=home&cmpid=rss&source=feed"),
                ),
                // A lone `?`, and empty parameters, go.
                ("https://example.com/s?", Some("https://example.com/s")),
                (
                    "https://example.com/s?&&id=1&",
                    Some("https://example.com/s?id=1"),
                ),
            ],
        );
    }

    #[test]
    fn scheme_host_port_fragment() {
        table(
            None,
            &[
                (
                    "HTTPS://WWW.Example.COM/Path/Story.HTML",
                    Some("https://www.example.com/Path/Story.HTML"),
                ),
                ("http://example.com:80/a", Some("http://example.com/a")),
                ("https://example.com:443/a", Some("https://example.com/a")),
                (
                    "https://example.com:8443/a",
                    Some("https://example.com:8443/a"),
                ),
                ("http://example.com", Some("http://example.com/")),
                (
                    "https://example.com/a#comments",
                    Some("https://example.com/a"),
                ),
                (
                    "https://example.com/a?id=1#top",
                    Some("https://example.com/a?id=1"),
                ),
                (
                    "https://example.com/a/./b/../c",
                    Some("https://example.com/a/c"),
                ),
                ("  https://example.com/a \n", Some("https://example.com/a")),
                ("https://example.com/a b", Some("https://example.com/a%20b")),
                (
                    "https://bücher.example/straße",
                    Some("https://xn--bcher-kva.example/stra%C3%9Fe"),
                ),
                (
                    "https://新闻.中国/报道",
                    Some("https://xn--efvy88h.xn--fiqs8s/%E6%8A%A5%E9%81%93"),
                ),
                (
                    "https://[2001:DB8::1]:443/a",
                    Some("https://[2001:db8::1]/a"),
                ),
            ],
        );
    }

    #[test]
    fn relative_resolution() {
        table(
            Some("https://news.example.com/world/feed.xml?format=rss"),
            &[
                (
                    "/2024/04/story.html",
                    Some("https://news.example.com/2024/04/story.html"),
                ),
                (
                    "story.html",
                    Some("https://news.example.com/world/story.html"),
                ),
                (
                    "../story.html?utm_source=rss",
                    Some("https://news.example.com/story.html"),
                ),
                (
                    "?id=3",
                    Some("https://news.example.com/world/feed.xml?id=3"),
                ),
                (
                    "//cdn.example.net/a.jpg",
                    Some("https://cdn.example.net/a.jpg"),
                ),
                ("http://other.example/x", Some("http://other.example/x")),
                ("", None),
                ("   ", None),
                (
                    "#top",
                    Some("https://news.example.com/world/feed.xml?format=rss"),
                ),
            ],
        );
        table(
            None,
            &[
                ("/2024/04/story.html", None),
                ("story.html", None),
                ("//cdn.example.net/a", None),
            ],
        );
    }

    #[test]
    fn non_http_and_garbage() {
        table(
            Some("https://example.com/"),
            &[
                ("mailto:desk@example.com", None),
                ("javascript:alert(1)", None),
                ("ftp://example.com/file", None),
                ("data:text/html,hi", None),
                ("file:///etc/passwd", None),
                ("tel:+123", None),
                ("http://", None),
                ("http://exa mple.com/", None),
                ("https://example.com:99999/", None),
                ("http://[::1", None),
            ],
        );
        table(
            None,
            &[
                ("not a url", None),
                ("", None),
                ("💥", None),
                ("http:///", None),
            ],
        );
    }

    #[test]
    fn resolve_keeps_any_scheme() {
        let base = Url::parse("https://example.com/a/b").ok();
        let resolved = |href| resolve(href, base.as_ref()).map(String::from);
        assert_eq!(
            resolved("c#x").as_deref(),
            Some("https://example.com/a/c#x")
        );
        assert_eq!(
            resolved("mailto:x@example.com").as_deref(),
            Some("mailto:x@example.com")
        );
        assert_eq!(
            resolved(" /d?utm_source=1 ").as_deref(),
            Some("https://example.com/d?utm_source=1")
        );
        assert_eq!(resolve("c", None), None);
    }
}
