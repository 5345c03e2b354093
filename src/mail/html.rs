//! HTML to plain text, keeping what the reply extractor needs to see.
//!
//! mail-parser's own conversion runs `<div>` and `<p>` blocks together on one
//! line, and an HTML-only reply (Outlook, Gmail) then loses the line structure
//! the command grammar depends on. This converter is a single forward pass
//! over the input (linear time, never panics on malformed markup):
//! - block elements become line breaks, inline whitespace collapses to one
//!   space, `<pre>` keeps its own whitespace;
//! - entities are decoded (common named ones and numeric ones);
//! - `<head>`, `<style>`, `<script>`, `<title>` and comments are dropped;
//! - quoted history is emitted with a `> ` prefix on each line: the content
//!   of `<blockquote>`, and everything from a client's quote container
//!   onward (Gmail `gmail_quote`, Outlook `divRplyFwdMsg` / `appendonsend` /
//!   `OutlookMessageHeader`, Thunderbird `moz-cite-prefix`, Yahoo
//!   `yahoo_quoted`, an `<hr>` followed by a "From:" block, …).

/// Converts an HTML body to text; see the module documentation.
pub fn html_to_text(html: &str) -> String {
    let mut converter = Converter::default();
    converter.run(html);
    converter.finish()
}

/// Elements whose content is not text.
const SKIPPED_ELEMENTS: &[&str] = &["head", "style", "script", "title", "xml"];

/// Elements that start and end on their own line.
const BLOCK_ELEMENTS: &[&str] = &[
    "div",
    "p",
    "br",
    "tr",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "table",
    "ul",
    "ol",
    "blockquote",
    "pre",
    "dl",
    "dt",
    "dd",
    "section",
    "article",
    "header",
    "footer",
    "center",
    "address",
    "tbody",
    "thead",
];

/// `class` values of quote containers: all that follows is history.
const QUOTE_CLASSES: &[&str] = &[
    "gmail_quote",
    "gmail_extra",
    "moz-cite-prefix",
    "yahoo_quoted",
    "OutlookMessageHeader",
    "protonmail_quote",
    "zmail_extra",
    "x_gmail_quote",
];

/// `id` values of quote containers: all that follows is history.
const QUOTE_IDS: &[&str] = &[
    "divRplyFwdMsg",
    "x_divRplyFwdMsg",
    "appendonsend",
    "OLK_SRC_BODY_SECTION",
    "mail-editor-reference-message-container",
    "stopSpelling",
];

/// `class` values of signature containers (Gmail, Thunderbird, Apple Mail).
const SIGNATURE_CLASSES: &[&str] = &["gmail_signature", "moz-signature", "AppleMailSignature"];

/// `id` values of signature containers (Outlook desktop and web, Outlook mobile, Apple Mail).
const SIGNATURE_IDS: &[&str] = &[
    "Signature",
    "x_Signature",
    "ms-outlook-mobile-signature",
    "AppleMailSignature",
];

/// One output line and whether it belongs to quoted history.
struct Line {
    text: String,
    quoted: bool,
}

#[derive(Default)]
struct Converter {
    lines: Vec<Line>,
    current: String,
    current_quoted: bool,
    blockquote_depth: usize,
    /// Set once a quote container starts: the rest of the document is history.
    rest_is_quoted: bool,
    /// Line indices where an `<hr>` stood, to check for a "From:" block below.
    rules: Vec<usize>,
    pre_depth: usize,
    /// Set once a signature container started and a `-- ` line was written above it.
    signature_marked: bool,
}

impl Converter {
    fn run(&mut self, html: &str) {
        let mut pos = 0;
        while pos < html.len() {
            let rest = &html[pos..];
            match rest.find(['<', '&']) {
                None => {
                    self.push_text(rest);
                    pos = html.len();
                }
                Some(0) if rest.starts_with('&') => {
                    let (decoded, used) = decode_entity(rest);
                    self.push_text(&decoded);
                    pos += used;
                }
                Some(0) => pos += self.handle_markup(rest),
                Some(n) => {
                    self.push_text(&rest[..n]);
                    pos += n;
                }
            }
        }
    }

    /// Handles markup at the start of `rest` (which begins with `<`) and
    /// returns how many bytes it used.
    fn handle_markup(&mut self, rest: &str) -> usize {
        if let Some(after) = rest.strip_prefix("<!--") {
            return 4 + after.find("-->").map_or(after.len(), |end| end + 3);
        }
        let Some(tag) = Tag::parse(rest) else {
            // A lone `<` in text ("a < b").
            self.push_text("<");
            return 1;
        };
        let mut used = tag.len;
        if !tag.closing && SKIPPED_ELEMENTS.contains(&tag.name.as_str()) && !tag.self_closing {
            used += skip_to_closing_tag(&rest[used..], &tag.name);
            return used;
        }
        self.apply_tag(&tag);
        used
    }

    fn apply_tag(&mut self, tag: &Tag) {
        let name = tag.name.as_str();
        if !tag.closing && tag.opens_quote_container() {
            self.end_line();
            self.rest_is_quoted = true;
        }
        if !tag.closing && !self.signature_marked && !self.in_quote() && tag.opens_signature() {
            // The usual `-- ` delimiter, so the text-level signature rules apply to HTML too.
            self.end_line();
            self.signature_marked = true;
            // Gmail writes its own `-- ` just above the container.
            let delimited = self.lines.iter().rev().find(|l| !l.text.trim().is_empty());
            if delimited.is_none_or(|l| l.text.trim() != "--") {
                self.lines.push(Line {
                    text: "-- ".into(),
                    quoted: false,
                });
            }
        }
        if name == "br" {
            // `<br>` always breaks, so `<div><br></div>` is a blank line.
            self.break_line();
        } else if BLOCK_ELEMENTS.contains(&name) {
            self.end_line();
        }
        match (name, tag.closing) {
            ("blockquote", false) => self.blockquote_depth += 1,
            ("blockquote", true) => self.blockquote_depth = self.blockquote_depth.saturating_sub(1),
            ("pre", false) => self.pre_depth += 1,
            ("pre", true) => self.pre_depth = self.pre_depth.saturating_sub(1),
            ("hr", _) => self.rules.push(self.lines.len()),
            ("td" | "th", true) => self.push_text(" "),
            _ => {}
        }
    }

    fn in_quote(&self) -> bool {
        self.rest_is_quoted || self.blockquote_depth > 0
    }

    fn push_text(&mut self, text: &str) {
        if self.pre_depth > 0 {
            let mut parts = text.split('\n');
            if let Some(first) = parts.next() {
                self.append(first);
            }
            for part in parts {
                self.break_line();
                self.append(part);
            }
            return;
        }
        for (i, word) in text.split(is_html_space).enumerate() {
            if i > 0 && !self.current.ends_with(' ') && !self.current.is_empty() {
                self.current.push(' ');
            }
            self.append(word);
        }
    }

    fn append(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        if self.current.trim().is_empty() {
            self.current_quoted = self.in_quote();
        }
        self.current.push_str(&text.replace('\u{a0}', " "));
    }

    /// Ends the current line if it has text (block boundaries).
    fn end_line(&mut self) {
        if !self.current.trim().is_empty() {
            self.break_line();
        } else {
            self.current.clear();
        }
    }

    /// Ends the current line, even an empty one.
    fn break_line(&mut self) {
        let text = std::mem::take(&mut self.current);
        let quoted = if text.trim().is_empty() {
            self.in_quote()
        } else {
            self.current_quoted
        };
        self.lines.push(Line { text, quoted });
    }

    fn finish(mut self) -> String {
        self.end_line();
        self.mark_rules_above_header_blocks();
        render(&self.lines)
    }

    /// Outlook and Hotmail separate the history with an `<hr>` followed by a
    /// "From:" (or "Date:") block: mark everything below such a rule quoted.
    fn mark_rules_above_header_blocks(&mut self) {
        const LOOKAHEAD: usize = 4;
        let start = self.rules.iter().copied().find(|&rule| {
            // Bounded look-ahead keeps this linear even with many rules.
            self.lines[rule.min(self.lines.len())..]
                .iter()
                .take(LOOKAHEAD * 4)
                .filter(|l| !l.text.trim().is_empty())
                .take(LOOKAHEAD)
                .any(|l| starts_with_header_label(&l.text))
        });
        if let Some(start) = start {
            for line in self.lines.iter_mut().skip(start) {
                line.quoted = true;
            }
        }
    }
}

fn starts_with_header_label(text: &str) -> bool {
    let text = text.trim_start();
    ["From:", "De :", "De:", "Von:", "Date:", "Sent:", "Envoyé :"]
        .iter()
        .any(|label| text.starts_with(label))
}

fn is_html_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\u{c}')
}

/// Lines trimmed, quoted ones prefixed with `> `, runs of blank lines
/// collapsed to one, the whole trimmed.
fn render(lines: &[Line]) -> String {
    let has_text = |l: &Line| !l.text.trim().is_empty();
    let (Some(first), Some(last)) = (
        lines.iter().position(has_text),
        lines.iter().rposition(has_text),
    ) else {
        return String::new();
    };
    let lines = &lines[first..=last];
    let mut out = String::new();
    let mut blank_run = 0;
    for line in lines {
        let text = line.text.trim();
        if text.is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        if line.quoted {
            out.push('>');
            if !text.is_empty() {
                out.push(' ');
            }
        }
        out.push_str(text);
        out.push('\n');
    }
    out.trim().to_string()
}

// ---------------------------------------------------------------------------
// Tags

/// A start or end tag, with the attributes quote detection needs.
struct Tag {
    name: String,
    closing: bool,
    self_closing: bool,
    class: String,
    id: String,
    type_attr: String,
    /// Bytes from `<` to `>` inclusive.
    len: usize,
}

impl Tag {
    /// Parses a tag at the start of `s`; `None` when `<` does not open a tag.
    fn parse(s: &str) -> Option<Tag> {
        let bytes = s.as_bytes();
        let mut pos = 1;
        let closing = bytes.get(pos) == Some(&b'/');
        if closing {
            pos += 1;
        }
        let name_start = pos;
        while bytes
            .get(pos)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b':')
        {
            pos += 1;
        }
        if pos == name_start {
            // `<!DOCTYPE …>`, `<?xml …?>`: skip to `>` as a nameless tag.
            if matches!(bytes.get(pos), Some(b'!' | b'?')) {
                let end = s.find('>').map_or(s.len(), |e| e + 1);
                return Some(Tag::nameless(end));
            }
            return None;
        }
        let name = s[name_start..pos].to_ascii_lowercase();
        let mut tag = Tag {
            name,
            closing,
            self_closing: false,
            class: String::new(),
            id: String::new(),
            type_attr: String::new(),
            len: 0,
        };
        pos = tag.parse_attributes(s, pos);
        tag.len = pos;
        Some(tag)
    }

    fn nameless(len: usize) -> Tag {
        Tag {
            name: String::new(),
            closing: false,
            self_closing: true,
            class: String::new(),
            id: String::new(),
            type_attr: String::new(),
            len,
        }
    }

    /// Reads attributes up to and including `>`; returns the end position.
    fn parse_attributes(&mut self, s: &str, mut pos: usize) -> usize {
        let bytes = s.as_bytes();
        loop {
            while bytes.get(pos).is_some_and(|b| b.is_ascii_whitespace()) {
                pos += 1;
            }
            match bytes.get(pos) {
                None => return s.len(),
                Some(b'>') => return pos + 1,
                Some(b'/') => {
                    self.self_closing = true;
                    pos += 1;
                    continue;
                }
                _ => {}
            }
            let name_start = pos;
            while bytes
                .get(pos)
                .is_some_and(|b| !b.is_ascii_whitespace() && !matches!(b, b'=' | b'>' | b'/'))
            {
                pos += 1;
            }
            if pos == name_start {
                // A stray character such as `=`: step over it.
                pos += 1;
                continue;
            }
            let attr_name = s[name_start..pos].to_ascii_lowercase();
            while bytes.get(pos).is_some_and(|b| b.is_ascii_whitespace()) {
                pos += 1;
            }
            if bytes.get(pos) != Some(&b'=') {
                continue;
            }
            pos += 1;
            while bytes.get(pos).is_some_and(|b| b.is_ascii_whitespace()) {
                pos += 1;
            }
            let (value, next) = read_attribute_value(s, pos);
            pos = next;
            match attr_name.as_str() {
                "class" => self.class = value.to_string(),
                "id" => self.id = value.to_string(),
                "type" => self.type_attr = value.to_ascii_lowercase(),
                _ => {}
            }
        }
    }

    /// Whether this start tag begins a mail client's signature block.
    fn opens_signature(&self) -> bool {
        let class_match = self
            .class
            .split_whitespace()
            .any(|c| SIGNATURE_CLASSES.iter().any(|s| s.eq_ignore_ascii_case(c)));
        class_match
            || SIGNATURE_IDS
                .iter()
                .any(|s| s.eq_ignore_ascii_case(&self.id))
    }

    /// Whether this start tag begins a client's quoted-history container.
    fn opens_quote_container(&self) -> bool {
        let class_match = self
            .class
            .split_whitespace()
            .any(|c| QUOTE_CLASSES.iter().any(|q| q.eq_ignore_ascii_case(c)));
        let id_match = QUOTE_IDS.iter().any(|q| q.eq_ignore_ascii_case(&self.id));
        let cite = self.name == "blockquote" && self.type_attr == "cite";
        class_match || id_match || cite
    }
}

/// Reads a quoted or bare attribute value at `pos`; returns it and the
/// position after it.
fn read_attribute_value(s: &str, pos: usize) -> (&str, usize) {
    let bytes = s.as_bytes();
    match bytes.get(pos) {
        Some(&quote @ (b'"' | b'\'')) => {
            let start = pos + 1;
            let end = s[start..]
                .find(quote as char)
                .map_or(s.len(), |e| start + e);
            (&s[start..end], (end + 1).min(s.len()))
        }
        _ => {
            let mut end = pos;
            while bytes
                .get(end)
                .is_some_and(|b| !b.is_ascii_whitespace() && *b != b'>')
            {
                end += 1;
            }
            (&s[pos..end], end)
        }
    }
}

/// Length up to and including `</name>` (ASCII case-insensitive), or the
/// rest of the input. Scans each byte once: no per-call copy of the input.
fn skip_to_closing_tag(s: &str, name: &str) -> usize {
    let bytes = s.as_bytes();
    let name = name.as_bytes();
    for (start, _) in s.match_indices("</") {
        let candidate = bytes.get(start + 2..start + 2 + name.len());
        if candidate.is_some_and(|c| c.eq_ignore_ascii_case(name)) {
            let after = start + 2 + name.len();
            return s[after..].find('>').map_or(s.len(), |e| after + e + 1);
        }
    }
    s.len()
}

// ---------------------------------------------------------------------------
// Entities

/// Decodes the entity at the start of `s` (which begins with `&`). Returns
/// the text and the bytes used; an unknown entity is kept as a plain `&`.
fn decode_entity(s: &str) -> (String, usize) {
    const MAX_ENTITY_LEN: usize = 12;
    let bytes = s.as_bytes();
    let Some(semi) = bytes.iter().take(MAX_ENTITY_LEN).position(|&b| b == b';') else {
        return ("&".to_string(), 1);
    };
    let body = &s[1..semi];
    let decoded = match body.strip_prefix('#') {
        Some(number) => decode_numeric(number),
        None => named_entity(body).map(str::to_string),
    };
    match decoded {
        Some(text) => (text, semi + 1),
        None => ("&".to_string(), 1),
    }
}

fn decode_numeric(number: &str) -> Option<String> {
    let code = match number.strip_prefix(['x', 'X']) {
        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
        None => number.parse::<u32>().ok()?,
    };
    char::from_u32(code).map(|c| c.to_string())
}

fn named_entity(name: &str) -> Option<&'static str> {
    Some(match name {
        "amp" | "AMP" => "&",
        "lt" | "LT" => "<",
        "gt" | "GT" => ">",
        "quot" | "QUOT" => "\"",
        "apos" => "'",
        "nbsp" => "\u{a0}",
        "copy" => "©",
        "reg" => "®",
        "trade" => "™",
        "hellip" => "…",
        "mdash" => "—",
        "ndash" => "–",
        "lsquo" => "‘",
        "rsquo" => "’",
        "ldquo" => "“",
        "rdquo" => "”",
        "laquo" => "«",
        "raquo" => "»",
        "bull" => "•",
        "middot" => "·",
        "euro" => "€",
        "pound" => "£",
        "deg" => "°",
        "eacute" => "é",
        "Eacute" => "É",
        "egrave" => "è",
        "Egrave" => "È",
        "ecirc" => "ê",
        "euml" => "ë",
        "agrave" => "à",
        "Agrave" => "À",
        "acirc" => "â",
        "auml" => "ä",
        "Auml" => "Ä",
        "ccedil" => "ç",
        "Ccedil" => "Ç",
        "icirc" => "î",
        "iuml" => "ï",
        "ocirc" => "ô",
        "ouml" => "ö",
        "Ouml" => "Ö",
        "ugrave" => "ù",
        "ucirc" => "û",
        "uuml" => "ü",
        "Uuml" => "Ü",
        "szlig" => "ß",
        "ntilde" => "ñ",
        "aacute" => "á",
        "iacute" => "í",
        "oacute" => "ó",
        "uacute" => "ú",
        "oelig" => "œ",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_become_lines_and_entities_are_decoded() {
        let html = "<html><head><style>p{}</style></head><body><div>ACCEPT</div><div>Deal:&nbsp;Caf&eacute; &amp; co&#33;</div><p>Value: 10&#x20AC;</p></body></html>";
        assert_eq!(html_to_text(html), "ACCEPT\nDeal: Café & co!\nValue: 10€");
    }

    #[test]
    fn gmail_quote_is_marked_quoted() {
        let html = "<div dir=\"ltr\">DECLINE</div><br><div class=\"gmail_quote\"><div class=\"gmail_attr\">On Mon, Bot wrote:<br></div><blockquote>ACCEPT</blockquote></div>";
        assert_eq!(
            html_to_text(html),
            "DECLINE\n\n> On Mon, Bot wrote:\n> ACCEPT"
        );
    }

    #[test]
    fn outlook_reply_header_and_everything_after_is_quoted() {
        let html = "<div>WON</div><div id=\"appendonsend\"></div><hr><div id=\"divRplyFwdMsg\"><b>De :</b> Bot<br><b>Envoyé :</b> lundi</div><div>ACCEPT</div>";
        let text = html_to_text(html);
        assert!(text.starts_with("WON\n"), "{text}");
        assert!(text.contains("> ACCEPT"), "{text}");
        assert!(!text.lines().any(|l| l == "ACCEPT"), "{text}");
    }

    #[test]
    fn hr_followed_by_from_block_quotes_the_rest() {
        let html = "<p>Hi</p><hr><p>From: Bob<br>Sent: Monday</p><p>Old</p>";
        assert_eq!(html_to_text(html), "Hi\n> From: Bob\n> Sent: Monday\n> Old");
    }

    #[test]
    fn malformed_markup_does_not_panic() {
        for html in [
            "<",
            "<div",
            "&",
            "&#xFFFFFFFF;",
            "<a href='x>",
            "<!--",
            "<style>",
            "é<é>&é;",
        ] {
            let _ = html_to_text(html);
        }
        assert_eq!(html_to_text("a < b &unknown; c"), "a < b &unknown; c");
    }

    #[test]
    fn client_signatures_get_the_usual_delimiter() {
        let gmail = "<div dir=\"ltr\">ACCEPT<br clear=\"all\"><div><br></div><span class=\"gmail_signature_prefix\">-- </span><br><div dir=\"ltr\" class=\"gmail_signature\" data-smartmail=\"gmail_signature\">Priya Shah<br>Fabrikam</div></div>";
        assert_eq!(html_to_text(gmail), "ACCEPT\n\n--\nPriya Shah\nFabrikam");
        let outlook = "<div>DECLINE 2</div><div id=\"Signature\"><p>Jean Roy</p></div>";
        assert_eq!(html_to_text(outlook), "DECLINE 2\n--\nJean Roy");
        let apple =
            "<div>WON</div><div><br><div id=\"AppleMailSignature\">Sent from my iPhone</div></div>";
        assert_eq!(html_to_text(apple), "WON\n\n--\nSent from my iPhone");
        // A signature inside the quoted history is history, not a delimiter.
        let quoted =
            "<div>OK</div><blockquote><div class=\"gmail_signature\">Bot</div></blockquote>";
        assert_eq!(html_to_text(quoted), "OK\n> Bot");
    }

    #[test]
    fn pre_keeps_line_breaks() {
        assert_eq!(html_to_text("<pre>a\n  b</pre>"), "a\nb");
    }

    #[test]
    fn many_rules_and_blank_lines_stay_fast() {
        let html = "<hr><br><br><br>".repeat(20_000);
        let started = std::time::Instant::now();
        let _ = html_to_text(&html);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
}
