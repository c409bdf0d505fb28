//! An inverted index over `tsvector`s: each lexeme's documents and, per
//! document, its positions with their weights — what `@@` and
//! `ts_rank_cd` need and nothing else.

use std::collections::HashMap;

use roaring::RoaringBitmap;

use super::tsquery::{self, Node, Occurrence, TsQuery, WordPos};

#[derive(Default)]
struct Posting {
    docs: Vec<u32>,
    /// `words[ends[i - 1]..ends[i]]` are `docs[i]`'s positions.
    ends: Vec<u32>,
    words: Vec<WordPos>,
}

impl Posting {
    fn words_at(&self, slot: usize) -> &[WordPos] {
        let start = if slot == 0 {
            0
        } else {
            self.ends[slot - 1] as usize
        };
        &self.words[start..self.ends[slot] as usize]
    }
}

/// Documents are numbered from 0 in the order they were added.
#[derive(Default)]
pub struct TextIndex {
    /// Lexeme → posting, numbered in byte order (as a `tsvector` sorts its
    /// lexemes, which ranking ties depend on).
    lexemes: HashMap<Box<str>, u32>,
    postings: Vec<Posting>,
    documents: u32,
}

/// Collects documents in order, then freezes.
#[derive(Default)]
pub struct TextIndexBuilder {
    postings: HashMap<String, Posting>,
    documents: u32,
}

/// A `tsvector` that could not be read.
#[derive(Debug)]
pub struct Unreadable;

impl TextIndexBuilder {
    /// Adds the next document from its `tsvector` text
    /// (`'lexeme':1A,5 'other':3`).
    pub fn add(&mut self, vector: &str) -> Result<(), Unreadable> {
        let doc = self.documents;
        self.documents += 1;
        for (lexeme, words) in parse_vector(vector)? {
            let posting = self.postings.entry(lexeme).or_default();
            posting.docs.push(doc);
            posting.words.extend(words);
            posting.ends.push(posting.words.len() as u32);
        }
        Ok(())
    }

    pub fn finish(self) -> TextIndex {
        let mut entries: Vec<(String, Posting)> = self.postings.into_iter().collect();
        entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut lexemes = HashMap::with_capacity(entries.len());
        let mut postings = Vec::with_capacity(entries.len());
        for (number, (lexeme, mut posting)) in entries.into_iter().enumerate() {
            posting.docs.shrink_to_fit();
            posting.ends.shrink_to_fit();
            posting.words.shrink_to_fit();
            lexemes.insert(lexeme.into_boxed_str(), number as u32);
            postings.push(posting);
        }
        TextIndex {
            lexemes,
            postings,
            documents: self.documents,
        }
    }
}

fn parse_vector(text: &str) -> Result<Vec<(String, Vec<WordPos>)>, Unreadable> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            None => return Ok(out),
            Some('\'') => {}
            Some(_) => return Err(Unreadable),
        }
        let mut lexeme = String::new();
        loop {
            match chars.next() {
                Some('\'') if chars.peek() == Some(&'\'') => {
                    chars.next();
                    lexeme.push('\'');
                }
                Some('\'') => break,
                Some('\\') => lexeme.push(chars.next().ok_or(Unreadable)?),
                Some(c) => lexeme.push(c),
                None => return Err(Unreadable),
            }
        }
        let mut words = Vec::new();
        if chars.peek() == Some(&':') {
            chars.next();
            loop {
                let mut position: u32 = 0;
                let mut digits = 0;
                while let Some(digit) = chars.peek().and_then(|c| c.to_digit(10)) {
                    position = position * 10 + digit;
                    digits += 1;
                    chars.next();
                }
                if digits == 0 || position > 0x3fff {
                    return Err(Unreadable);
                }
                let weight: u16 = match chars.peek() {
                    Some('A') => 3,
                    Some('B') => 2,
                    Some('C') => 1,
                    Some('D') => 0,
                    _ => 4,
                };
                let weight = if weight == 4 {
                    0
                } else {
                    chars.next();
                    weight
                };
                words.push((weight << 14) | position as u16);
                if chars.peek() == Some(&',') {
                    chars.next();
                } else {
                    break;
                }
            }
        }
        out.push((lexeme, words));
    }
}

/// A query resolved against one index: each operand's posting, if the
/// lexeme occurs at all.
pub struct Resolved<'a> {
    query: &'a TsQuery,
    /// Each operand's lexeme number and posting.
    postings: Vec<Option<(u32, &'a Posting)>>,
}

impl TextIndex {
    pub fn documents(&self) -> u32 {
        self.documents
    }

    /// Approximate heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.postings
            .iter()
            .map(|posting| posting.docs.len() * 8 + posting.words.len() * 2 + 80)
            .sum::<usize>()
            + self
                .lexemes
                .keys()
                .map(|lexeme| lexeme.len() + 40)
                .sum::<usize>()
    }

    pub fn resolve<'a>(&'a self, query: &'a TsQuery) -> Resolved<'a> {
        Resolved {
            query,
            postings: query
                .operands
                .iter()
                .map(|lexeme| {
                    self.lexemes
                        .get(lexeme.as_str())
                        .map(|number| (*number, &self.postings[*number as usize]))
                })
                .collect(),
        }
    }
}

impl Resolved<'_> {
    /// The documents the query matches (`vector @@ query`).
    pub fn matches(&self, documents: u32) -> RoaringBitmap {
        let Some(root) = &self.query.root else {
            return RoaringBitmap::new();
        };
        self.matching(root, documents)
    }

    fn operand_docs(&self, operand: usize) -> RoaringBitmap {
        match self.postings[operand] {
            Some((_, posting)) => {
                RoaringBitmap::from_sorted_iter(posting.docs.iter().copied()).unwrap_or_default()
            }
            None => RoaringBitmap::new(),
        }
    }

    fn matching(&self, node: &Node, documents: u32) -> RoaringBitmap {
        match node {
            Node::Operand(operand) => self.operand_docs(*operand),
            Node::Not(inner) => {
                let mut all = RoaringBitmap::new();
                all.insert_range(0..documents);
                all - self.matching(inner, documents)
            }
            Node::And(left, right) => {
                self.matching(left, documents) & self.matching(right, documents)
            }
            Node::Or(left, right) => {
                self.matching(left, documents) | self.matching(right, documents)
            }
            Node::Phrase(..) => {
                // Every word of the phrase must be there; then their places.
                let mut operands = Vec::new();
                collect_operands(node, &mut operands);
                let mut candidates = self.operand_docs(operands[0]);
                for operand in &operands[1..] {
                    candidates &= self.operand_docs(*operand);
                }
                let mut positions: Vec<Vec<u16>> = vec![Vec::new(); self.postings.len()];
                candidates
                    .into_iter()
                    .filter(|doc| {
                        for operand in &operands {
                            positions[*operand] = self
                                .words(*operand, *doc)
                                .iter()
                                .map(|word| tsquery::position(*word))
                                .collect();
                        }
                        tsquery::holds(node, &|_| true, &|operand| positions[operand].as_slice())
                    })
                    .collect()
            }
        }
    }

    fn words(&self, operand: usize, doc: u32) -> &[WordPos] {
        self.postings[operand]
            .and_then(|(_, posting)| {
                posting
                    .docs
                    .binary_search(&doc)
                    .ok()
                    .map(|slot| posting.words_at(slot))
            })
            .unwrap_or_default()
    }

    /// `ts_rank_cd` of each document in `docs` (ascending), in that order.
    pub fn ranks(&self, docs: impl Iterator<Item = u32>) -> Vec<(u32, f32)> {
        let mut out = Vec::new();
        self.rank_each(docs, |_, _| true, |doc, rank| out.push((doc, rank)));
        out
    }

    /// Ranks each document in `docs` (ascending) that `admit` lets through
    /// given an upper bound of its rank, and hands it to `take`. The bound
    /// is cheap (no covers are computed): a top-k caller skips most of a
    /// broad query's matches with it.
    pub fn rank_each(
        &self,
        docs: impl Iterator<Item = u32>,
        mut admit: impl FnMut(u32, f64) -> bool,
        mut take: impl FnMut(u32, f32),
    ) {
        // Each operand's lexeme, and every operand sharing it.
        let lexemes: Vec<(usize, u64)> = {
            let mut out: Vec<(usize, u64)> = Vec::new();
            for (operand, lexeme) in self.query.operands.iter().enumerate() {
                if self.postings[operand].is_none() || operand >= 64 {
                    continue;
                }
                match out
                    .iter_mut()
                    .find(|(first, _)| self.query.operands[*first] == *lexeme)
                {
                    Some((_, mask)) => *mask |= 1 << operand,
                    None => out.push((operand, 1 << operand)),
                }
            }
            out
        };
        // With only `&` between distinct words, every cover holds each of
        // them, and holds an occurrence of the rarest among at most as many
        // covers as there are words.
        let conjunction = self.query.is_conjunction() && lexemes.len() == self.query.operands.len();
        let words = lexemes.len();
        let mut cursors = vec![0usize; lexemes.len()];
        let mut occurrences = Vec::new();
        let mut ranker = tsquery::Ranker::new(self.query);
        for doc in docs {
            let mut count = 0usize;
            let mut rarest = usize::MAX;
            let mut heaviest = 0u16;
            for ((operand, _), cursor) in lexemes.iter().zip(cursors.iter_mut()) {
                let Some((_, posting)) = self.postings[*operand] else {
                    continue;
                };
                // Documents come in ascending order: walk each posting once.
                while *cursor < posting.docs.len() && posting.docs[*cursor] < doc {
                    *cursor += 1;
                }
                if posting.docs.get(*cursor) == Some(&doc) {
                    let found = posting.words_at(*cursor);
                    count += found.len();
                    rarest = rarest.min(found.len());
                    heaviest = heaviest.max(found.iter().map(|word| word >> 14).max().unwrap_or(0));
                }
            }
            // Each cover starts at a different occurrence and scores at most
            // its heaviest word's weight (a harmonic mean of weights, damped
            // by noise words): the rank cannot exceed covers × heaviest.
            let covers = if conjunction && words > 1 {
                (count + 1).saturating_sub(words).min(words * rarest)
            } else {
                count
            };
            const WEIGHTS: [f64; 4] = [0.1, 0.2, 0.4, 1.0];
            let bound = covers as f64 * WEIGHTS[usize::from(heaviest)] * (1.0 + 1e-6);
            if !admit(doc, bound) {
                continue;
            }
            occurrences.clear();
            for ((operand, mask), cursor) in lexemes.iter().zip(cursors.iter()) {
                let Some((lexeme, posting)) = self.postings[*operand] else {
                    continue;
                };
                if posting.docs.get(*cursor) == Some(&doc) {
                    occurrences.extend(posting.words_at(*cursor).iter().map(|word| Occurrence {
                        word: *word,
                        lexeme,
                        operands: *mask,
                    }));
                }
            }
            take(doc, ranker.rank(&mut occurrences));
        }
    }
}

fn collect_operands(node: &Node, out: &mut Vec<usize>) {
    match node {
        Node::Operand(operand) => out.push(*operand),
        Node::Not(inner) => collect_operands(inner, out),
        Node::And(left, right) | Node::Or(left, right) | Node::Phrase(left, right, _) => {
            collect_operands(left, out);
            collect_operands(right, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vectors_as_postgresql_prints_them() {
        let parsed = parse_vector("'communiti':1A,15C 'it''s':3 'polic':2A").unwrap();
        assert_eq!(parsed[0].0, "communiti");
        assert_eq!(parsed[0].1, vec![(3 << 14) | 1, (1 << 14) | 15]);
        assert_eq!(parsed[1].0, "it's");
        assert_eq!(parsed[1].1, vec![3]);
        assert!(parse_vector("").unwrap().is_empty());
        assert!(parse_vector("communiti").is_err());
    }

    #[test]
    fn matches_and_ranks() {
        let mut builder = TextIndexBuilder::default();
        builder.add("'communiti':1A 'polic':2A").unwrap();
        builder.add("'polic':1A").unwrap();
        builder.add("'drug':3 'war':1").unwrap();
        let index = builder.finish();
        let query = TsQuery::parse("'communiti' & 'polic'").unwrap();
        let resolved = index.resolve(&query);
        let matches = resolved.matches(index.documents());
        assert_eq!(matches.iter().collect::<Vec<_>>(), [0]);
        assert_eq!(resolved.ranks(matches.iter()), [(0, 1.0)]);
        let query = TsQuery::parse("'polic' & !'communiti'").unwrap();
        let resolved = index.resolve(&query);
        assert_eq!(resolved.matches(3).iter().collect::<Vec<_>>(), [1]);
        let query = TsQuery::parse("'war' <2> 'drug'").unwrap();
        let resolved = index.resolve(&query);
        assert_eq!(resolved.matches(3).iter().collect::<Vec<_>>(), [2]);
        let query = TsQuery::parse("'war' <-> 'drug'").unwrap();
        assert!(index.resolve(&query).matches(3).is_empty());
    }
}
