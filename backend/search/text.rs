//! An inverted index over `tsvector`s: each lexeme's documents and, per
//! document, its positions with their weights — what `@@` and
//! `ts_rank_cd` need and nothing else.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::sync::Arc;

use roaring::RoaringBitmap;

use super::tsquery::{self, Node, Occurrence, TsQuery, WordPos};

#[derive(Default, Clone)]
struct Posting {
    docs: Vec<u32>,
    /// `words[ends[i - 1]..ends[i]]` are `docs[i]`'s positions.
    ends: Vec<u32>,
    words: Vec<WordPos>,
}

impl Posting {
    fn push(&mut self, doc: u32, words: Vec<WordPos>) {
        self.docs.push(doc);
        self.words.extend(words);
        self.ends.push(self.words.len() as u32);
    }

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
#[derive(Default, Clone)]
pub struct TextIndex {
    /// The documents of the build, then (once patched) those patches
    /// added: a patch shares the first and copies only the second, small,
    /// instead of every posting a common word has.
    segments: Vec<Arc<Segment>>,
    documents: u32,
}

#[derive(Default, Clone)]
struct Segment {
    /// Every lexeme in byte order (as a `tsvector` sorts its lexemes, which
    /// ranking ties depend on), so a prefix's lexemes are one run.
    lexemes: Vec<Box<str>>,
    postings: Vec<Posting>,
    /// A lexeme's number is this plus its place in `lexemes`: numbers of
    /// different segments never meet (a document is in one segment, and
    /// its lexemes' numbers keep their byte order).
    first_number: u32,
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
            self.postings.entry(lexeme).or_default().push(doc, words);
        }
        Ok(())
    }

    pub fn finish(self) -> TextIndex {
        let mut entries: Vec<(String, Posting)> = self.postings.into_iter().collect();
        entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut lexemes = Vec::with_capacity(entries.len());
        let mut postings = Vec::with_capacity(entries.len());
        for (lexeme, mut posting) in entries {
            posting.docs.shrink_to_fit();
            posting.ends.shrink_to_fit();
            posting.words.shrink_to_fit();
            lexemes.push(lexeme.into_boxed_str());
            postings.push(posting);
        }
        TextIndex {
            segments: vec![Arc::new(Segment {
                lexemes,
                postings,
                first_number: 0,
            })],
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

/// A query resolved against one index: each operand's postings (none when
/// its lexeme does not occur; every lexeme it begins for a prefix).
pub struct Resolved<'a> {
    query: &'a TsQuery,
    /// Each operand's lexeme numbers and postings.
    postings: Vec<Vec<(u32, &'a Posting)>>,
}

/// One lexeme a query touches, and every operand it satisfies.
struct Entry<'a> {
    lexeme: u32,
    posting: &'a Posting,
    operands: u64,
}

/// From this many lexemes (a short prefix's), ranking finds each document's
/// lexemes with a heap instead of looking at every lexeme for every
/// document.
const MERGED_FROM: usize = 16;

impl TextIndex {
    /// This index with more documents, numbered on from its last. The
    /// documents they replace stay: callers leave them out of matches.
    pub fn extended<'v>(
        &self,
        vectors: impl IntoIterator<Item = &'v str>,
    ) -> Result<TextIndex, Unreadable> {
        let built = self.segments.first().cloned().unwrap_or_default();
        let (patched, added) = match self.segments.get(1) {
            Some(patched) => patched.extended(vectors, self.documents)?,
            None => {
                let empty = Segment {
                    first_number: built.first_number + built.lexemes.len() as u32,
                    ..Segment::default()
                };
                empty.extended(vectors, self.documents)?
            }
        };
        Ok(TextIndex {
            documents: self.documents + added,
            segments: vec![built, Arc::new(patched)],
        })
    }

    pub fn documents(&self) -> u32 {
        self.documents
    }

    /// Approximate heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.segments
            .iter()
            .map(|segment| segment.heap_bytes())
            .sum()
    }

    pub fn resolve<'a>(&'a self, query: &'a TsQuery) -> Resolved<'a> {
        Resolved {
            query,
            postings: query
                .operands
                .iter()
                .zip(&query.prefixes)
                .map(|(lexeme, prefix)| {
                    self.segments
                        .iter()
                        .flat_map(|segment| {
                            segment.places(lexeme, *prefix).map(|place| {
                                (
                                    segment.first_number + place as u32,
                                    &segment.postings[place],
                                )
                            })
                        })
                        .collect()
                })
                .collect(),
        }
    }
}

impl Segment {
    /// This segment with more documents, numbered from `first_doc`; and
    /// how many were added.
    fn extended<'v>(
        &self,
        vectors: impl IntoIterator<Item = &'v str>,
        first_doc: u32,
    ) -> Result<(Segment, u32), Unreadable> {
        let mut postings = self.postings.clone();
        // `String` orders by bytes, as the lexicon does.
        let mut fresh: BTreeMap<String, Posting> = BTreeMap::new();
        let mut doc = first_doc;
        for vector in vectors {
            for (lexeme, words) in parse_vector(vector)? {
                let known = self
                    .lexemes
                    .binary_search_by(|known| known.as_bytes().cmp(lexeme.as_bytes()));
                let posting = match known {
                    Ok(place) => &mut postings[place],
                    Err(_) => fresh.entry(lexeme).or_default(),
                };
                posting.push(doc, words);
            }
            doc += 1;
        }
        let mut lexemes = Vec::with_capacity(self.lexemes.len() + fresh.len());
        let mut merged = Vec::with_capacity(lexemes.capacity());
        let mut fresh = fresh.into_iter().peekable();
        for (lexeme, posting) in self.lexemes.iter().zip(postings) {
            while let Some((new, new_posting)) =
                fresh.next_if(|(new, _)| new.as_bytes() < lexeme.as_bytes())
            {
                lexemes.push(new.into_boxed_str());
                merged.push(new_posting);
            }
            lexemes.push(lexeme.clone());
            merged.push(posting);
        }
        for (new, new_posting) in fresh {
            lexemes.push(new.into_boxed_str());
            merged.push(new_posting);
        }
        let segment = Segment {
            lexemes,
            postings: merged,
            first_number: self.first_number,
        };
        Ok((segment, doc - first_doc))
    }

    fn heap_bytes(&self) -> usize {
        self.postings
            .iter()
            .map(|posting| posting.docs.len() * 8 + posting.words.len() * 2 + 80)
            .sum::<usize>()
            + self
                .lexemes
                .iter()
                .map(|lexeme| lexeme.len() + 16)
                .sum::<usize>()
    }

    /// The places of the lexemes `lexeme` stands for: itself, or every
    /// lexeme it begins (compared as bytes, as PostgreSQL compares them).
    fn places(&self, lexeme: &str, prefix: bool) -> std::ops::Range<usize> {
        let wanted = lexeme.as_bytes();
        let start = self
            .lexemes
            .partition_point(|known| known.as_bytes() < wanted);
        let run = if prefix {
            self.lexemes[start..].partition_point(|known| known.as_bytes().starts_with(wanted))
        } else {
            usize::from(
                self.lexemes
                    .get(start)
                    .is_some_and(|known| known.as_bytes() == wanted),
            )
        };
        start..start + run
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
        let mut docs = RoaringBitmap::new();
        for (_, posting) in &self.postings[operand] {
            docs |=
                RoaringBitmap::from_sorted_iter(posting.docs.iter().copied()).unwrap_or_default();
        }
        docs
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
                            positions[*operand] = self.positions(*operand, *doc);
                        }
                        tsquery::holds(node, &|_| true, &|operand| positions[operand].as_slice())
                    })
                    .collect()
            }
        }
    }

    /// Where the operand's lexemes stand in `doc`: ascending, each once
    /// (a prefix's lexemes together, as PostgreSQL gathers them).
    fn positions(&self, operand: usize, doc: u32) -> Vec<u16> {
        let mut positions: Vec<u16> = self.postings[operand]
            .iter()
            .filter_map(|(_, posting)| {
                let slot = posting.docs.binary_search(&doc).ok()?;
                Some(posting.words_at(slot))
            })
            .flatten()
            .map(|word| tsquery::position(*word))
            .collect();
        positions.sort_unstable();
        positions.dedup();
        positions
    }

    /// Every lexeme the query touches, with the operands each satisfies
    /// (an operand repeated, or a lexeme both named and begun by a prefix,
    /// satisfies several).
    fn entries(&self) -> Vec<Entry<'_>> {
        let mut entries: Vec<Entry<'_>> = Vec::new();
        for (operand, postings) in self.postings.iter().enumerate().take(64) {
            for (lexeme, posting) in postings {
                match entries.iter_mut().find(|entry| entry.lexeme == *lexeme) {
                    Some(entry) => entry.operands |= 1 << operand,
                    None => entries.push(Entry {
                        lexeme: *lexeme,
                        posting,
                        operands: 1 << operand,
                    }),
                }
            }
        }
        entries
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
        let entries = self.entries();
        // With only `&` between distinct words, every cover holds each of
        // them, and holds an occurrence of the rarest among at most as many
        // covers as there are words.
        // (An index in two segments holds a word as two lexemes, one each:
        // a document's are all in one.)
        let operands = self.query.operands.len();
        let conjunction = self.query.is_conjunction()
            && !self.query.has_prefix()
            && operands <= 64
            && entries.iter().all(|entry| entry.operands.count_ones() == 1)
            && entries
                .iter()
                .fold(0u64, |seen, entry| seen | entry.operands)
                .count_ones() as usize
                == operands;
        let words = operands;
        let mut present = DocEntries::new(&entries);
        let mut occurrences = Vec::new();
        let mut ranker = tsquery::Ranker::new(self.query);
        for doc in docs {
            let found = present.at(doc);
            let mut count = 0usize;
            let mut rarest = usize::MAX;
            let mut heaviest = 0u16;
            for &(entry, slot) in found {
                let words = entries[entry].posting.words_at(slot);
                count += words.len();
                rarest = rarest.min(words.len());
                heaviest = heaviest.max(words.iter().map(|word| word >> 14).max().unwrap_or(0));
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
            for &(entry, slot) in found {
                let entry = &entries[entry];
                occurrences.extend(entry.posting.words_at(slot).iter().map(|word| Occurrence {
                    word: *word,
                    lexeme: entry.lexeme,
                    operands: entry.operands,
                }));
            }
            take(doc, ranker.rank(&mut occurrences));
        }
    }
}

/// Which of a query's lexemes occur in each document, documents asked in
/// ascending order: each posting is walked once. A few lexemes are looked
/// at in turn for every document; many (a short prefix's) are merged with
/// a heap, so a document costs the lexemes it holds, not all of them.
struct DocEntries<'e, 'a> {
    entries: &'e [Entry<'a>],
    cursors: Vec<usize>,
    /// With many lexemes: each unfinished one's next document.
    heap: Option<BinaryHeap<Reverse<(u32, usize)>>>,
    /// The current document's lexemes: (entry, slot in its posting).
    found: Vec<(usize, usize)>,
}

impl<'e, 'a> DocEntries<'e, 'a> {
    fn new(entries: &'e [Entry<'a>]) -> Self {
        let heap = (entries.len() >= MERGED_FROM).then(|| {
            entries
                .iter()
                .enumerate()
                .filter_map(|(index, entry)| Some(Reverse((*entry.posting.docs.first()?, index))))
                .collect()
        });
        DocEntries {
            entries,
            cursors: vec![0; entries.len()],
            heap,
            found: Vec::new(),
        }
    }

    fn at(&mut self, doc: u32) -> &[(usize, usize)] {
        self.found.clear();
        let Some(heap) = &mut self.heap else {
            for (index, (entry, cursor)) in self.entries.iter().zip(&mut self.cursors).enumerate() {
                let docs = &entry.posting.docs;
                while *cursor < docs.len() && docs[*cursor] < doc {
                    *cursor += 1;
                }
                if docs.get(*cursor) == Some(&doc) {
                    self.found.push((index, *cursor));
                }
            }
            return &self.found;
        };
        while let Some(&Reverse((next, index))) = heap.peek() {
            if next > doc {
                break;
            }
            heap.pop();
            let docs = &self.entries[index].posting.docs;
            let cursor = &mut self.cursors[index];
            if next < doc {
                *cursor += docs[*cursor..].partition_point(|&other| other < doc);
            }
            if docs.get(*cursor) == Some(&doc) {
                self.found.push((index, *cursor));
                *cursor += 1;
            }
            if let Some(&following) = docs.get(*cursor) {
                heap.push(Reverse((following, index)));
            }
        }
        // In the order of the entries, as the walk above finds them.
        self.found.sort_unstable();
        &self.found
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

    #[test]
    fn an_extended_index_matches_and_ranks_as_one_built_whole() {
        let vectors = [
            "'communiti':1A 'polic':2A",
            "'polic':1A",
            "'drug':3 'war':1",
            "'aardvark':2 'polic':1B",
            "'communiti':4C 'zebra':1",
            "'mmm':3 'war':2",
        ];
        let mut whole = TextIndexBuilder::default();
        for vector in vectors {
            whole.add(vector).unwrap();
        }
        let whole = whole.finish();
        let mut first = TextIndexBuilder::default();
        for vector in &vectors[..3] {
            first.add(vector).unwrap();
        }
        let patched = first
            .finish()
            .extended(vectors[3..5].iter().copied())
            .unwrap();
        // A second patch copies the first's segment, not the build's.
        let extended = patched.extended(vectors[5..].iter().copied()).unwrap();
        assert!(Arc::ptr_eq(&extended.segments[0], &patched.segments[0]));
        assert_eq!(extended.segments.len(), 2);
        assert_eq!(extended.documents(), whole.documents());
        for text in [
            "'polic'",
            "'communiti' & 'polic'",
            "'aardvark' | 'zebra'",
            "!'war'",
            "'m':*",
            "'a':* | 'd':*",
        ] {
            let query = TsQuery::parse(text).unwrap();
            let (got, want) = (extended.resolve(&query), whole.resolve(&query));
            let matches = want.matches(6);
            assert_eq!(got.matches(6), matches, "{text}");
            assert_eq!(
                got.ranks(matches.iter()),
                want.ranks(matches.iter()),
                "{text}"
            );
        }
    }

    #[test]
    fn a_prefix_stands_for_every_lexeme_it_begins() {
        let mut builder = TextIndexBuilder::default();
        builder.add("'communic':3 'communiti':1A").unwrap();
        builder.add("'comm':1 'polic':2").unwrap();
        builder.add("'communiti':4B 'polic':5").unwrap();
        let index = builder.finish();
        let query = TsQuery::parse("'commun':*").unwrap();
        let resolved = index.resolve(&query);
        let matches = resolved.matches(index.documents());
        assert_eq!(matches.iter().collect::<Vec<_>>(), [0, 2]);
        // One word: every occurrence is a cover scoring its weight.
        assert_eq!(resolved.ranks(matches.iter()), [(0, 1.1), (2, 0.4)]);
        let query = TsQuery::parse("'commun':* <-> 'polic'").unwrap();
        let resolved = index.resolve(&query);
        assert_eq!(resolved.matches(3).iter().collect::<Vec<_>>(), [2]);
        // Not a prefix, not found: a lexeme is matched whole.
        let query = TsQuery::parse("'commun'").unwrap();
        assert!(index.resolve(&query).matches(3).is_empty());
    }

    #[test]
    fn a_short_prefix_over_many_lexemes_ranks_each_document_by_its_own() {
        // 26 lexemes 'pa'…'pz' spread over documents: the merged walk.
        let mut builder = TextIndexBuilder::default();
        let mut expected = Vec::new();
        for doc in 0..40u32 {
            let mut words = Vec::new();
            let mut rank = 0.0f32;
            for letter in 0..26u32 {
                if (doc + letter) % 7 == 0 {
                    let weight = ["", "A"][(letter % 2) as usize];
                    words.push(format!(
                        "'p{}':{}{weight}",
                        (b'a' + letter as u8) as char,
                        letter + 1
                    ));
                    rank += if weight == "A" { 1.0 } else { 0.1 };
                }
            }
            words.sort();
            builder.add(&words.join(" ")).unwrap();
            if !words.is_empty() {
                expected.push((doc, rank));
            }
        }
        let index = builder.finish();
        let query = TsQuery::parse("'p':*").unwrap();
        let resolved = index.resolve(&query);
        let matches = resolved.matches(index.documents());
        assert!(resolved.postings[0].len() >= MERGED_FROM);
        let ranks = resolved.ranks(matches.iter());
        assert_eq!(ranks.len(), expected.len());
        for ((doc, rank), (expected_doc, expected_rank)) in ranks.iter().zip(&expected) {
            assert_eq!(doc, expected_doc);
            assert!(
                (rank - expected_rank).abs() < 1e-5,
                "{doc}: {rank} {expected_rank}"
            );
        }
    }
}
