//! CloudFront's resource patterns: `*` matches zero or more characters and
//! `?` exactly one, anywhere in the pattern; everything else matches itself
//! (case-sensitively, as CloudFront compares URLs).

/// Whether `text` matches the resource `pattern`.
///
/// Linear-time in the common case; the classic single-backtrack glob
/// algorithm bounds the worst case at O(pattern × text) with no recursion, so
/// a hostile pattern cannot blow the stack.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    // Where the last `*` was, and the text position it is currently absorbing up to.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    // Let the last `*` absorb one more character and retry.
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::wildcard_match as m;

    #[test]
    fn literal_patterns_match_exactly() {
        assert!(m("https://a/b.ts", "https://a/b.ts"));
        assert!(!m("https://a/b.ts", "https://a/b.tsx"));
        assert!(!m("https://a/b.ts", "https://a/B.ts"));
        assert!(m("", ""));
        assert!(!m("", "x"));
    }

    #[test]
    fn star_matches_any_run_including_slashes_and_queries() {
        assert!(m("https://a/movies/*", "https://a/movies/"));
        assert!(m("https://a/movies/*", "https://a/movies/x/y.ts?z=1"));
        assert!(!m("https://a/movies/*", "https://a/movie/x"));
        assert!(m("*", ""));
        assert!(m("*", "anything"));
        assert!(m("https://*/x.ts", "https://host.example/x.ts"));
        assert!(m("https://a/*.ts", "https://a/dir/seg.ts"));
        assert!(!m("https://a/*.ts", "https://a/dir/seg.tsx"));
        assert!(m("**a**", "xxaxx"));
    }

    #[test]
    fn question_mark_matches_exactly_one_character() {
        assert!(m("https://a/seg?.ts", "https://a/seg1.ts"));
        assert!(!m("https://a/seg?.ts", "https://a/seg.ts"));
        assert!(!m("https://a/seg?.ts", "https://a/seg12.ts"));
        assert!(m("https://a/seg??.ts", "https://a/seg12.ts"));
        assert!(m("?", "é"));
        assert!(m("a?*", "ab"));
        assert!(!m("a?*", "a"));
    }

    #[test]
    fn backtracking_finds_the_right_split() {
        assert!(m("*ab*ab", "xabyabab"));
        assert!(m("a*b*c", "abbbbbbc"));
        assert!(!m("a*b*c", "abbbbbbd"));
        assert!(m("*?*?*", "ab"));
        assert!(!m("*?*?*", "a"));
    }

    #[test]
    fn hostile_patterns_terminate() {
        let text = "a".repeat(5000);
        let pattern = format!("{}b", "*a".repeat(50));
        assert!(!m(&pattern, &text));
    }
}
