//! Slugs and normalized names.

/// A URL-safe identifier derived from a name: lowercase ASCII letters and
/// digits separated by single hyphens, accents transliterated.
///
/// "Café" → "cafe", "Guidebook/Tool" → "guidebook-tool",
/// "Stops, Searches, and Arrests" → "stops-searches-and-arrests".
pub fn slugify(name: &str) -> String {
    let ascii = deunicode::deunicode(name).to_lowercase();
    let mut slug = String::with_capacity(ascii.len());
    let mut pending_hyphen = false;
    for character in ascii.chars() {
        if character.is_ascii_alphanumeric() {
            if pending_hyphen && !slug.is_empty() {
                slug.push('-');
            }
            pending_hyphen = false;
            slug.push(character);
        } else if character != '\'' {
            // Apostrophes vanish ("Knowledge Lab's" → "knowledge-labs"); every
            // other run of punctuation or space becomes one hyphen.
            pending_hyphen = true;
        }
    }
    slug
}

/// Whether `slug` has the shape [`slugify`] produces (and the database checks).
pub fn is_valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && !slug.contains("--")
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A name reduced to what makes two spellings "the same": case, typographic
/// quotes and dashes, and runs of white space are ignored; words and
/// punctuation are not, so near-identical titles stay distinct.
pub fn normalize_name(name: &str) -> String {
    let mut normalized = String::with_capacity(name.len());
    for word in name.split_whitespace() {
        if !normalized.is_empty() {
            normalized.push(' ');
        }
        for character in word.chars() {
            let plain = match character {
                '\u{2018}' | '\u{2019}' | '\u{201B}' | '\u{2032}' => '\'',
                '\u{201C}' | '\u{201D}' | '\u{201F}' | '\u{2033}' => '"',
                '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
                other => other,
            };
            normalized.extend(plain.to_lowercase());
        }
    }
    normalized
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_the_documented_examples() {
        assert_eq!(slugify("Café"), "cafe");
        assert_eq!(slugify("Guidebook/Tool"), "guidebook-tool");
        assert_eq!(
            slugify("Stops, Searches, and Arrests"),
            "stops-searches-and-arrests"
        );
        assert_eq!(
            slugify("Community Trust and Partnerships"),
            "community-trust-and-partnerships"
        );
        assert_eq!(
            slugify("  Knowledge Lab’s  index — 2021 "),
            "knowledge-labs-index-2021"
        );
        assert_eq!(slugify("Æsop & Naïve Señor"), "aesop-naive-senor");
        assert_eq!(slugify("!!!"), "");
    }

    #[test]
    fn slugify_output_is_always_valid_or_empty() {
        for name in ["a--b", "-x-", "Ünïcödé Tëxt", "911 Dispatch", "A/B: C, D"] {
            let slug = slugify(name);
            assert!(is_valid_slug(&slug), "{name:?} gave {slug:?}");
        }
        assert!(!is_valid_slug("Upper"));
        assert!(!is_valid_slug("double--hyphen"));
        assert!(!is_valid_slug("-leading"));
        assert!(!is_valid_slug(""));
    }

    #[test]
    fn normalized_names_ignore_typography_but_not_words() {
        assert_eq!(
            normalize_name("A Crisis of Trust:  May 27 – June 7"),
            normalize_name("a crisis of trust: may 27 - june 7")
        );
        assert_eq!(
            normalize_name("Knowledge Lab’s"),
            normalize_name("knowledge lab's")
        );
        assert_ne!(
            normalize_name("Public Health and Safety"),
            normalize_name("Public Health & Safety")
        );
    }
}
