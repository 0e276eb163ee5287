//! Response gzip negotiation: does a request's `Accept-Encoding` choose gzip, decided as
//! Envoy's compressor filter decides it (`chooseEncoding`) with gzip its only compressor.
//!
//! Elements are `coding[;q=weight]`, case-insensitive, over every header line. The coding
//! with the highest weight among `gzip`, `identity` and `*` wins (the first one on a tie);
//! `gzip` or `*` means gzip. `gzip;q=0` refuses gzip even when `*` is accepted; an element
//! whose weight does not parse is skipped; no header at all means no compression.

use http::HeaderValue;

/// True when a request with these `Accept-Encoding` values should get a gzip response.
pub fn accepts_gzip<'a>(values: impl IntoIterator<Item = &'a HeaderValue>) -> bool {
    let mut gzip_refused = false;
    // (is gzip or `*`, weight) of the best candidate so far; identity starts at weight 0.
    let mut best: (bool, f32) = (false, 0.0);
    let mut any = false;
    for value in values {
        let Ok(value) = value.to_str() else { continue };
        for element in value.split(',') {
            let Some((coding, q)) = element_weight(element) else {
                continue;
            };
            any = true;
            let is_gzip = coding.eq_ignore_ascii_case("gzip");
            if is_gzip && q == 0.0 {
                gzip_refused = true;
            }
            let candidate = is_gzip || coding == "*" || coding.eq_ignore_ascii_case("identity");
            if candidate && q > best.1 {
                best = (is_gzip || coding == "*", q);
            }
        }
    }
    any && !gzip_refused && best.0
}

/// The coding of one element and its weight (default 1); `None` for an empty element or a
/// weight that is not a number from 0 to 1.
fn element_weight(element: &str) -> Option<(&str, f32)> {
    let mut parts = element.split(';');
    let coding = parts.next()?.trim();
    if coding.is_empty() {
        return None;
    }
    let mut q = 1.0;
    for param in parts {
        if let Some((name, value)) = param.split_once('=') {
            if name.trim().eq_ignore_ascii_case("q") {
                q = value
                    .trim()
                    .parse::<f32>()
                    .ok()
                    .filter(|q| (0.0..=1.0).contains(q))?;
            }
        }
    }
    Some((coding, q))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts(values: &[&str]) -> bool {
        let values: Vec<HeaderValue> = values
            .iter()
            .map(|v| HeaderValue::from_str(v).unwrap())
            .collect();
        accepts_gzip(&values)
    }

    #[test]
    fn tokens_weights_and_wildcard() {
        for yes in [
            &["gzip"][..],
            &["GZIP"],
            &["*"],
            &["gzip, deflate, br"],
            &["deflate, br, gzip;q=0.5"],
            &["br", "gzip"],
            &["identity;q=0.5, gzip"],
            &["gzip ; q=0.8, identity;q=0.5"],
            &["*;q=0.5, identity;q=0.1"],
            &["gzip;q=0.1, *"],
            &["gzip;q=bad, *"],
        ] {
            assert!(accepts(yes), "{yes:?} accepts gzip");
        }
        for no in [
            &[][..],
            &[""],
            &["br"],
            &["identity"],
            &["gzip;q=0"],
            &["gzip;q=0.000"],
            &["gzip;q=0, *"],
            &["*, gzip;q=0"],
            &["*;q=0"],
            &["identity, gzip"],
            &["identity;q=1, gzip;q=0.5"],
            &["gzip;q=2"],
            &["gzip;q=x"],
        ] {
            assert!(!accepts(no), "{no:?} does not accept gzip");
        }
    }
}
