//! "Did you mean": for a search that finds nothing, the query with its
//! misspelt-looking words replaced by the nearest words of published
//! titles and label names. Built with each picture of the published stage,
//! so it never suggests a word only drafts hold.

use std::collections::HashMap;

/// Words shorter than this are left as typed: one edit away from a short
/// word is another word.
const SHORTEST_CORRECTED: usize = 5;
/// From this length two edits are forgiven, below it one.
const TWO_EDITS_FROM: usize = 9;
/// Longer words are no misspelling of anything a title holds.
const LONGEST_CORRECTED: usize = 30;
/// Words of one query looked up at most: each is compared with the whole
/// vocabulary, and the caller may be anyone.
const MOST_CORRECTED: usize = 5;

/// Lower-cased words and how many titles and names hold each.
#[derive(Default, Clone)]
pub struct Vocabulary {
    words: HashMap<String, u32>,
    /// The same words by length in characters, for candidates of a length.
    by_length: HashMap<usize, Vec<String>>,
}

/// The distinct words of `text` a suggestion may use.
fn words_of(text: &str) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for word in text.split(|c: char| !c.is_alphanumeric()) {
        let word = word.to_lowercase();
        // Numbers (years, issue numbers) are never what a misspelt word
        // meant, and a corpus has many.
        let numeric = word.chars().any(|c| c.is_numeric());
        if !numeric && word.chars().count() >= SHORTEST_CORRECTED - 1 && !seen.contains(&word) {
            seen.push(word);
        }
    }
    seen
}

impl Vocabulary {
    pub fn build<'a>(texts: impl Iterator<Item = &'a str>) -> Vocabulary {
        let mut vocabulary = Vocabulary::default();
        for text in texts {
            vocabulary.add(text);
        }
        vocabulary
    }

    /// Counts one more title or name.
    pub fn add(&mut self, text: &str) {
        for word in words_of(text) {
            let count = self.words.entry(word.clone()).or_default();
            *count += 1;
            if *count == 1 {
                self.by_length
                    .entry(word.chars().count())
                    .or_default()
                    .push(word);
            }
        }
    }

    /// Counts one title or name fewer: its words no other holds are gone.
    pub fn remove(&mut self, text: &str) {
        for word in words_of(text) {
            let Some(count) = self.words.get_mut(&word) else {
                continue;
            };
            *count -= 1;
            if *count == 0 {
                self.words.remove(&word);
                if let Some(same_length) = self.by_length.get_mut(&word.chars().count()) {
                    same_length.retain(|known| *known != word);
                }
            }
        }
    }

    /// Approximate heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.words.keys().map(|word| 2 * word.len() + 64).sum()
    }

    /// `text` with each word of five letters or more that no title or name
    /// holds replaced by the nearest one that some do (one edit away, two
    /// from nine letters; the most common, then the first in alphabetical
    /// order), its spelling otherwise kept: quotes, exclusions, prefixes.
    /// `None` when nothing would change.
    pub fn suggest(&self, text: &str) -> Option<String> {
        let mut out = String::with_capacity(text.len());
        let mut changed = false;
        let mut looked_up = 0;
        let mut rest = text;
        while let Some(start) = rest.find(|c: char| c.is_alphanumeric()) {
            out.push_str(&rest[..start]);
            let word_and_after = &rest[start..];
            let end = word_and_after
                .find(|c: char| !c.is_alphanumeric())
                .unwrap_or(word_and_after.len());
            let word = &word_and_after[..end];
            // A prefix being typed, or a word left out, is not corrected.
            let prefix = word_and_after[end..].starts_with('*');
            let excluded = out.ends_with('-');
            let replacement = if prefix || excluded || looked_up >= MOST_CORRECTED {
                None
            } else {
                self.nearest(word, &mut looked_up)
            };
            match replacement {
                Some(nearest) => {
                    changed = true;
                    out.push_str(&nearest);
                }
                None => out.push_str(word),
            }
            rest = &word_and_after[end..];
        }
        out.push_str(rest);
        changed.then_some(out)
    }

    fn nearest(&self, word: &str, looked_up: &mut usize) -> Option<String> {
        let lower = word.to_lowercase();
        let length = lower.chars().count();
        if !(SHORTEST_CORRECTED..=LONGEST_CORRECTED).contains(&length)
            || lower.chars().any(|c| c.is_numeric())
            || self.words.contains_key(&lower)
        {
            return None;
        }
        *looked_up += 1;
        let edits = if length >= TWO_EDITS_FROM { 2 } else { 1 };
        let mut best: Option<(usize, u32, &str)> = None;
        for candidate_length in length.saturating_sub(edits)..=length + edits {
            for candidate in self.by_length.get(&candidate_length).into_iter().flatten() {
                let distance = strsim::damerau_levenshtein(&lower, candidate);
                if distance > edits {
                    continue;
                }
                let count = self.words[candidate];
                let better = match best {
                    None => true,
                    Some((best_distance, best_count, best_word)) => {
                        (distance, std::cmp::Reverse(count), candidate.as_str())
                            < (best_distance, std::cmp::Reverse(best_count), best_word)
                    }
                };
                if better {
                    best = Some((distance, count, candidate));
                }
            }
        }
        best.map(|(_, _, word)| word.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocabulary() -> Vocabulary {
        Vocabulary::build(
            [
                "Community Policing in Practice",
                "Community Trust and Partnerships",
                "Building Communities of Trust",
                "Mental Health and Crisis Response",
                "Responding to Mass Demonstrations",
                "Annual Report 20251",
            ]
            .into_iter(),
        )
    }

    #[test]
    fn misspelt_words_become_the_nearest_common_word() {
        let words = vocabulary();
        assert_eq!(
            words.suggest("comunity policng").as_deref(),
            Some("community policing")
        );
        // A transposition is one edit; two edits from nine letters.
        assert_eq!(words.suggest("crsis").as_deref(), Some("crisis"));
        assert_eq!(
            words.suggest("demonstartoins").as_deref(),
            Some("demonstrations")
        );
        // Quotes, exclusions and the rest of the text are kept as typed.
        assert_eq!(
            words.suggest("\"mentl health\" -comunity").as_deref(),
            Some("\"mental health\" -comunity")
        );
    }

    #[test]
    fn known_short_prefixed_and_far_words_are_left_alone() {
        let words = vocabulary();
        assert_eq!(words.suggest("community trust"), None);
        assert_eq!(words.suggest("trst"), None, "too short to correct");
        assert_eq!(words.suggest("comun*"), None, "a prefix being typed");
        assert_eq!(words.suggest("zzzyx"), None, "nothing near");
        assert_eq!(words.suggest("covid19"), None, "numbers are not typos");
        assert_eq!(words.suggest("a2025x"), None);
        assert!(!words.words.contains_key("20251"), "nor suggestions");
    }

    #[test]
    fn a_title_taken_away_takes_the_words_only_it_held() {
        let mut words = vocabulary();
        words.remove("Mental Health and Crisis Response");
        assert_eq!(words.suggest("crsis"), None, "no title holds crisis now");
        assert_eq!(words.suggest("respnse"), None);
        words.remove("Community Policing in Practice");
        assert_eq!(
            words.suggest("comunity").as_deref(),
            Some("community"),
            "another title still holds community"
        );
        words.add("Crisis Lines");
        assert_eq!(words.suggest("crsis").as_deref(), Some("crisis"));
    }

    #[test]
    fn a_long_query_costs_at_most_a_few_lookups() {
        let words = vocabulary();
        let text = "aaaaaa bbbbbb cccccc dddddd eeeeee comunity";
        assert_eq!(words.suggest(text), None, "the sixth word is not looked up");
    }
}
