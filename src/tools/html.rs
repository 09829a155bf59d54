//! Readable text from HTML: enough for a model to read a page, not a browser.
//!
//! A single forward scan drops comments, scripts, styles and tags, keeps line
//! breaks where block elements were, decodes common entities and collapses
//! whitespace. Malformed markup degrades to "some extra text", never a panic.

/// Title and body text extracted from an HTML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// Text of the first `<title>`, if any.
    pub title: Option<String>,
    /// Visible text, one line per block.
    pub text: String,
}

/// Elements whose content is never visible text.
const SKIPPED: &[&str] = &["script", "style", "noscript", "template", "svg", "iframe"];

/// Elements that start a new line in the extracted text.
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "dd",
    "div",
    "dl",
    "dt",
    "figcaption",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "td",
    "th",
    "tr",
    "ul",
];

/// Extracts title and text from `html`.
pub fn extract(html: &str) -> Extracted {
    let bytes = html.as_bytes();
    let mut raw = String::with_capacity(html.len() / 2);
    let mut title = None;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'<' {
            // Copy the run of text up to the next tag in one go.
            let end = html[i..].find('<').map_or(html.len(), |p| i + p);
            raw.push_str(&html[i..end]);
            i = end;
            continue;
        }
        if html[i..].starts_with("<!--") {
            i = html[i + 4..]
                .find("-->")
                .map_or(html.len(), |p| i + 4 + p + 3);
            continue;
        }
        let Some((name, closing, tag_end)) = read_tag(html, i) else {
            // A lone '<' is text ("a < b").
            raw.push('<');
            i += 1;
            continue;
        };
        i = tag_end;
        if closing {
            if BLOCKS.contains(&name.as_str()) {
                raw.push('\n');
            }
            continue;
        }
        if name == "title" || SKIPPED.contains(&name.as_str()) {
            let (inner_end, after) = find_close(html, i, &name);
            if name == "title" && title.is_none() {
                let t = collapse(&decode_entities(&html[i..inner_end]));
                title = Some(t).filter(|t| !t.is_empty());
            }
            i = after;
            continue;
        }
        if BLOCKS.contains(&name.as_str()) {
            raw.push('\n');
        }
    }
    Extracted {
        title,
        text: collapse(&decode_entities(&raw)),
    }
}

/// Reads the tag starting at `start` (which is `<`): lowercase name, whether it
/// is a closing tag, and the index just past `>`. `None` if it is not a tag.
fn read_tag(html: &str, start: usize) -> Option<(String, bool, usize)> {
    let bytes = html.as_bytes();
    let mut i = start + 1;
    let closing = bytes.get(i) == Some(&b'/');
    if closing {
        i += 1;
    }
    let name_start = i;
    // Tag names start with a letter (`!` for doctype); "I <3 you" is text.
    if !bytes
        .get(i)
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'!')
    {
        return None;
    }
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'!') {
        i += 1;
    }
    if i == name_start {
        return None;
    }
    let name = html[name_start..i].to_ascii_lowercase();
    // Skip attributes, honouring quotes so `>` inside a value does not end the tag.
    let mut quote = None;
    while i < bytes.len() {
        match (quote, bytes[i]) {
            (None, b'>') => return Some((name, closing, i + 1)),
            (None, q @ (b'"' | b'\'')) => quote = Some(q),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
        i += 1;
    }
    Some((name, closing, bytes.len()))
}

/// Finds `</name` (any case) from `from`: returns where the content ends and the
/// index just past the closing tag (end of input when unclosed).
fn find_close(html: &str, from: usize, name: &str) -> (usize, usize) {
    let needle = format!("</{name}");
    let hay = html.as_bytes();
    let n = needle.as_bytes();
    let mut i = from;
    while i + n.len() <= hay.len() {
        if hay[i..i + n.len()].eq_ignore_ascii_case(n) {
            // The needle is ASCII, so `i` is a char boundary.
            let after = html[i..].find('>').map_or(html.len(), |p| i + p + 1);
            return (i, after);
        }
        i += 1;
    }
    (html.len(), html.len())
}

/// Longest entity name looked at (`#x10FFFF` and every named entity fit).
const MAX_ENTITY_LEN: usize = 10;

/// Decodes the named entities common in real pages and all numeric ones;
/// unknown entities are left as written.
///
/// Linear: after each `&` at most [`MAX_ENTITY_LEN`] + 1 bytes are examined for
/// the closing `;`. (Searching the whole remainder for it made a page of `&`
/// quadratic: 2 MiB took minutes.)
pub fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let window = &rest.as_bytes()[1..rest.len().min(MAX_ENTITY_LEN + 2)];
        let decoded = window
            .iter()
            .position(|&b| b == b';')
            .filter(|&semi| semi > 0)
            // `;` is ASCII, so `1 + semi` is a char boundary.
            .and_then(|semi| entity(&rest[1..1 + semi]).map(|c| (c, semi + 2)));
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code);
    }
    let c = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "laquo" => '«',
        "raquo" => '»',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "euro" => '€',
        "middot" => '·',
        "bull" => '•',
        _ => return None,
    };
    Some(c)
}

/// Collapses runs of spaces within lines and drops empty lines.
pub fn collapse(s: &str) -> String {
    s.lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_title_and_visible_text() {
        let html = r#"<!DOCTYPE html><html><head><title> Hello &amp; welcome </title>
            <style>body { color: red }</style><script>var x = "<p>no</p>";</script></head>
            <body><!-- hidden --><h1>Heading</h1><p>First   para with <b>bold</b> text.</p>
            <p data-x="a > b">Second&nbsp;para &lt;3 &#233;&#x41;</p><SCRIPT>alert(1)</SCRIPT></body></html>"#;
        let out = extract(html);
        assert_eq!(out.title.as_deref(), Some("Hello & welcome"));
        assert_eq!(
            out.text,
            "Heading\nFirst para with bold text.\nSecond para <3 éA"
        );
    }

    #[test]
    fn tolerates_broken_markup() {
        assert_eq!(extract("a < b and <unclosed").text, "a < b and");
        assert_eq!(extract("I <3 you <br/>").text, "I <3 you");
        assert_eq!(extract("<script>never closed").text, "");
        assert_eq!(extract("x &bogus; &amp y").text, "x &bogus; &amp y");
        assert_eq!(extract("<p>ünïcödé</p><br>ok").text, "ünïcödé\nok");
        assert_eq!(decode_entities("&&amp;&#65;&#;&;"), "&&A&#;&;");
        assert_eq!(decode_entities("&verylongname;"), "&verylongname;");
    }

    /// Adversarial inputs of `n` bytes.
    fn adversarial(n: usize) -> Vec<String> {
        vec![
            "&".repeat(n),
            "&#".repeat(n / 2),
            "&amp".repeat(n / 4),
            "<".repeat(n),
            "<div>".repeat(n / 5),
            "<a \"".repeat(n / 4),
            "<!--".repeat(n / 4),
            "<title>&".repeat(n / 8),
        ]
    }

    /// Best of three runs, to shrug off scheduling noise on a shared machine.
    fn best_time(f: impl Fn()) -> std::time::Duration {
        (0..3)
            .map(|_| {
                let t = std::time::Instant::now();
                f();
                t.elapsed()
            })
            .min()
            .unwrap_or_default()
    }

    /// Ten inputs must cost about as much as one input ten times larger, not ten times
    /// more: the quadratic entity decoder took ~10× longer here (~100× per byte; minutes on a
    /// 2 MiB page of `&`). Both sides are timed over windows of similar length, so a loaded
    /// machine preempts them alike (timing one small input against one large one made the
    /// short window look faster whenever the box was busy).
    #[test]
    fn extraction_is_linear_in_the_input() {
        let (small, large) = (adversarial(20 * 1024), adversarial(200 * 1024));
        for (s, l) in small.iter().zip(&large) {
            let t_small = best_time(|| {
                for _ in 0..10 {
                    std::hint::black_box(extract(s));
                }
            });
            let t_large = best_time(|| {
                std::hint::black_box(extract(l));
            });
            // Generous: linear is ~1×, quadratic ~10×. The floor keeps tiny timings from
            // turning noise into a ratio.
            let floor = std::time::Duration::from_millis(2);
            assert!(
                t_large <= t_small.max(floor) * 4,
                "{:?}…: 10 × 20 KiB took {t_small:?}, 200 KiB took {t_large:?}",
                &s[..8]
            );
        }
    }
}
