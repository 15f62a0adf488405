//! Telegram's 4,096-character limit: user texts clipped after HTML escaping, and a last cut that
//! never splits an entity (`&amp;`) or a tag, and drops a link it would cut open.

/// Telegram refuses longer texts. Counted in UTF-16 code units over the HTML as sent (tags and
/// entities included), which is never less than what Telegram counts after parsing it.
pub const TELEGRAM_LIMIT: usize = 4096;

/// The mark left where text was cut.
const ELLIPSIS: char = '…';

/// Length as Telegram counts it (UTF-16 code units).
pub fn units(s: &str) -> usize {
    s.encode_utf16().count()
}

/// `raw`, HTML-escaped, cut so the escaped text takes at most `max` units (an ellipsis included).
pub fn clip_escaped(raw: &str, max: usize) -> String {
    let escaped = super::format::escape_html(raw);
    if units(&escaped) <= max {
        return escaped;
    }
    let mut out = String::new();
    let mut used = 0;
    let budget = max.saturating_sub(ELLIPSIS.len_utf16());
    for c in raw.chars() {
        let piece = super::format::escape_html(c.encode_utf8(&mut [0; 4]));
        let n = units(&piece);
        if used + n > budget {
            break;
        }
        used += n;
        out.push_str(&piece);
    }
    if max >= ELLIPSIS.len_utf16() {
        out.push(ELLIPSIS);
    }
    out
}

/// `html` (Telegram's HTML: escaped text, `<a href="…">…</a>` and other simple tags) cut to at
/// most `max` units: never inside an entity or a tag; an element the cut would leave open is
/// dropped from its opening tag on, so what remains is well formed.
pub fn fit_html(html: &str, max: usize) -> String {
    if units(html) <= max {
        return html.to_string();
    }
    let budget = max.saturating_sub(ELLIPSIS.len_utf16());
    // `cut`: the last byte offset where a cut is safe (outside every element).
    let mut cut = 0;
    let mut used = 0;
    let mut open = false;
    let mut i = 0;
    let bytes = html.as_bytes();
    while i < html.len() {
        // The next token: a tag, an entity, or one character.
        let end = match bytes[i] {
            b'<' => html[i..].find('>').map_or(html.len(), |j| i + j + 1),
            b'&' => html[i..]
                .find(';')
                .filter(|j| *j <= 10)
                .map_or(i + 1, |j| i + j + 1),
            _ => i + html[i..].chars().next().map_or(1, char::len_utf8),
        };
        let token = &html[i..end];
        let n = units(token);
        if used + n > budget {
            break;
        }
        used += n;
        if token.starts_with("</") {
            open = false;
        } else if token.starts_with('<') && !token.ends_with("/>") {
            open = true;
        }
        i = end;
        if !open {
            cut = i;
        }
    }
    let mut out = html[..cut].trim_end().to_string();
    out.push(ELLIPSIS);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_counts_after_escaping_and_never_splits_an_entity() {
        let raw = "a&b".repeat(10);
        let clipped = clip_escaped(&raw, 12);
        assert!(units(&clipped) <= 12, "{clipped}");
        assert_eq!(clipped, "a&amp;ba…");
        assert_eq!(clip_escaped("short", 100), "short");
        // Emoji count twice, as Telegram counts them.
        let clipped = clip_escaped(&"😀".repeat(10), 7);
        assert_eq!(clipped, "😀😀😀…");
    }

    #[test]
    fn fitting_html_never_cuts_a_tag_an_entity_or_a_link() {
        let html = "Title &amp; more\n\n🔗 <a href=\"https://x/?a=1&amp;b=2\">View it</a>";
        assert_eq!(fit_html(html, 4096), html);
        for max in 1..units(html) {
            let fitted = fit_html(html, max);
            assert!(units(&fitted) <= max.max(1), "{max}: {fitted}");
            assert_eq!(
                fitted.matches('<').count(),
                fitted.matches('>').count(),
                "{fitted}"
            );
            assert!(
                !fitted.contains("<a") || fitted.contains("</a>"),
                "{fitted}"
            );
            let last_amp = fitted.rfind('&');
            assert!(
                last_amp.is_none_or(|a| fitted[a..].contains(';')),
                "{fitted}"
            );
        }
    }
}
