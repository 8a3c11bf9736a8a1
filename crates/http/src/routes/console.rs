//! The web console (issue #7): `GET /` and the two files it loads, `/console/app.js` and
//! `/console/style.css`, compiled into the binary from `crates/http/console/` so the broker
//! needs no files beside it and the browser fetches nothing from anywhere else.
//!
//! The console is only a client of the REST API in this crate; it has no routes of its own
//! beyond these three files. Caching: the file names carry no version, so every response says
//! `no-cache` (the browser revalidates each load) with an `ETag` hashed from the bytes at compile
//! time; a matching `If-None-Match` answers 304 with no body, so an upgraded broker never serves
//! a stale script and an unchanged one costs a few bytes.

use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// One embedded file and how it is served.
pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
    /// `"` + 16 hex digits of the body's FNV-1a hash + `"`.
    pub etag: [u8; 18],
}

impl Asset {
    const fn new(path: &'static str, content_type: &'static str, body: &'static [u8]) -> Asset {
        Asset {
            path,
            content_type,
            body,
            etag: etag(body),
        }
    }
}

/// Everything the console is. index.html refers to the other two by these paths (a unit test
/// checks that they agree).
pub static ASSETS: [Asset; 3] = [
    Asset::new(
        "/",
        "text/html; charset=utf-8",
        include_bytes!("../../console/index.html"),
    ),
    Asset::new(
        "/console/app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../console/app.js"),
    ),
    Asset::new(
        "/console/style.css",
        "text/css; charset=utf-8",
        include_bytes!("../../console/style.css"),
    ),
];

/// The page may run only its own script and style and talk only to this origin: record values
/// are untrusted, and although app.js inserts them as text only, the policy makes an injected
/// script inert too.
const CONTENT_SECURITY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The console's routes, for merging into the API router (any state: the files need none).
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    ASSETS.iter().fold(Router::new(), |router, asset| {
        router.route(
            asset.path,
            get(move |headers: HeaderMap| async move { respond(asset, &headers) }),
        )
    })
}

/// 200 with the file, or 304 when the browser already holds these exact bytes.
pub fn respond(asset: &'static Asset, request: &HeaderMap) -> Response {
    let etag = HeaderValue::from_bytes(&asset.etag).ok();
    let fresh = match (&etag, request.get(IF_NONE_MATCH)) {
        (Some(etag), Some(seen)) => seen
            .to_str()
            .map(|list| list.split(',').any(|tag| tag.trim() == etag))
            .unwrap_or(false),
        _ => false,
    };
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut ok = asset.body.into_response();
        ok.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
        ok
    };
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if asset.content_type.starts_with("text/html") {
        headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY));
    }
    if let Some(etag) = etag {
        headers.insert(ETAG, etag);
    }
    response
}

/// A strong ETag from the FNV-1a hash of `body`, computed at compile time. FNV is no defence
/// against an adversary, and needs none here: it only tells two builds' files apart.
const fn etag(body: &[u8]) -> [u8; 18] {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < body.len() {
        hash ^= body[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'"'; 18];
    let mut digit = 0;
    while digit < 16 {
        out[1 + digit] = HEX[((hash >> (60 - 4 * digit)) & 0xf) as usize];
        digit += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asset(path: &str) -> &'static Asset {
        ASSETS.iter().find(|a| a.path == path).unwrap()
    }

    #[test]
    fn respond_without_validator_sends_body_type_and_revalidation_headers() {
        let r = respond(asset("/console/app.js"), &HeaderMap::new());
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[CONTENT_TYPE], "text/javascript; charset=utf-8");
        assert_eq!(r.headers()[CACHE_CONTROL], "no-cache");
        assert_eq!(r.headers()[X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(r.headers()[ETAG].as_bytes(), &asset("/console/app.js").etag);
        assert!(r.headers().get(CONTENT_SECURITY_POLICY).is_none());
        let page = respond(asset("/"), &HeaderMap::new());
        assert_eq!(page.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(page.headers()[CONTENT_SECURITY_POLICY], CONTENT_SECURITY);
    }

    #[test]
    fn respond_with_matching_etag_answers_not_modified_and_other_etag_the_file() {
        let css = asset("/console/style.css");
        let mut request = HeaderMap::new();
        let tag = std::str::from_utf8(&css.etag).unwrap();
        request.insert(
            IF_NONE_MATCH,
            HeaderValue::from_str(&format!("\"0000000000000000\", {tag}")).unwrap(),
        );
        let r = respond(css, &request);
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(r.headers()[ETAG].as_bytes(), &css.etag);
        assert!(r.headers().get(CONTENT_TYPE).is_none());

        request.insert(IF_NONE_MATCH, HeaderValue::from_static("\"0000000000000000\""));
        assert_eq!(respond(css, &request).status(), StatusCode::OK);
    }

    #[test]
    fn etag_differs_per_file_and_is_quoted_hex() {
        let tags: Vec<&str> = ASSETS.iter().map(|a| std::str::from_utf8(&a.etag).unwrap()).collect();
        for tag in &tags {
            assert!(tag.len() == 18 && tag.starts_with('"') && tag.ends_with('"'), "{tag}");
            assert!(tag[1..17].bytes().all(|b| b.is_ascii_hexdigit()), "{tag}");
        }
        assert_ne!(tags[0], tags[1]);
        assert_ne!(tags[1], tags[2]);
        // The FNV-1a 64 test vector for "a".
        assert_eq!(&etag(b"a"), b"\"af63dc4c8601ec8c\"");
    }

    #[test]
    fn index_refers_only_to_served_assets_and_nothing_remote() {
        let index = std::str::from_utf8(asset("/").body).unwrap();
        let referenced: Vec<&str> = index
            .split(['"', '\''])
            .filter(|s| s.starts_with("/console/"))
            .collect();
        assert_eq!(referenced, ["/console/style.css", "/console/app.js"]);
        for path in referenced {
            assert!(ASSETS.iter().any(|a| a.path == path), "{path} is not served");
        }
        // No CDN, no web fonts: the only absolute URL is the SVG namespace, which is a name.
        for asset in &ASSETS {
            let text = std::str::from_utf8(asset.body)
                .unwrap()
                .replace("http://www.w3.org/2000/svg", "");
            assert!(
                !text.contains("http://") && !text.contains("https://"),
                "{} names a remote URL",
                asset.path
            );
        }
    }
}
