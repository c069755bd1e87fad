//! Evaluation annotations: 1–256 characters, ASCII, never empty.

/// PutEvaluations rejects annotations longer than this.
pub const MAX_LEN: usize = 256;
const TRUNCATED: &str = " [truncated]";

/// Makes `text` a valid annotation: non-ASCII characters become `?` (so characters = bytes), and
/// text over 256 characters keeps its first 244 plus ` [truncated]` (the rdk convention).
/// Returns `None` for empty text, which PutEvaluations rejects: the field is then omitted.
///
/// ```
/// let long = "x".repeat(300);
/// let a = cmk_core::annotation::fit(&long).unwrap();
/// assert_eq!(a.len(), 256);
/// assert!(a.ends_with(" [truncated]"));
/// ```
pub fn fit(text: &str) -> Option<String> {
    // The usual case, printable ASCII that fits, is copied once.
    if text.bytes().all(|b| b.is_ascii() && !b.is_ascii_control()) {
        let trimmed = text.trim();
        if !trimmed.is_empty() && trimmed.len() <= MAX_LEN {
            return Some(trimmed.to_owned());
        }
    }
    let ascii: String = text
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .collect();
    let trimmed = ascii.trim();
    if trimmed.is_empty() {
        return None;
    }
    if trimmed.len() <= MAX_LEN {
        return Some(trimmed.to_owned());
    }
    let mut cut = trimmed[..MAX_LEN - TRUNCATED.len()].to_owned();
    cut.push_str(TRUNCATED);
    Some(cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_kept() {
        assert_eq!(fit("key disabled").as_deref(), Some("key disabled"));
    }

    #[test]
    fn empty_text_is_omitted() {
        assert_eq!(fit(""), None);
        assert_eq!(fit("   "), None);
    }

    #[test]
    fn exactly_256_is_not_truncated() {
        let text = "k".repeat(256);
        assert_eq!(fit(&text).as_deref(), Some(text.as_str()));
    }

    #[test]
    fn non_ascii_is_replaced_so_length_is_in_bytes() {
        let text = "é".repeat(300);
        let fitted = fit(&text).unwrap();
        assert_eq!(fitted.len(), 256);
        assert!(fitted.starts_with("???"));
    }
}
