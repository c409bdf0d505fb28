//! PostgreSQL's text search, evaluated in memory: a `tsquery` (as
//! `websearch_to_tsquery` printed it) matched against documents' lexeme
//! positions (as their `tsvector` printed them), and ranked exactly as
//! `ts_rank_cd(vector, query)` ranks them.
//!
//! Exactness is the point: PostgreSQL stays the reference (and the fallback
//! while the index is rebuilt), so totals must agree and a rank computed here
//! must equal PostgreSQL's bit for bit — a cursor holds a rank, and a page
//! read from one and continued by the other must not skip or repeat a hit.
//! Shapes whose semantics are intricate in PostgreSQL (negation or
//! alternatives inside a phrase, weight-restricted operands) are refused at
//! parse time, and such queries are answered by PostgreSQL. A prefix operand
//! (`'commun':*`, what a search box sends as its user types) stands for
//! every lexeme it begins, as in PostgreSQL.

use std::cmp::Ordering;

/// A word position with its weight, packed as PostgreSQL's `WordEntryPos`:
/// weight (D=0 … A=3) in the top two bits, position in the low fourteen.
pub type WordPos = u16;

pub fn position(word: WordPos) -> u16 {
    word & 0x3fff
}

pub fn weight(word: WordPos) -> usize {
    usize::from(word >> 14)
}

/// A parsed query. Operands are numbered in the order they appear.
#[derive(Debug, Clone, PartialEq)]
pub struct TsQuery {
    /// The query as PostgreSQL printed it: equal texts, equal queries.
    pub text: String,
    pub root: Option<Node>,
    /// Each operand's lexeme, by operand number.
    pub operands: Vec<String>,
    /// Which operands are prefixes (`'commun':*`), by operand number.
    pub prefixes: Vec<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Operand(usize),
    Not(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    /// `left <distance> right`: right starts `distance` after left ends.
    Phrase(Box<Node>, Box<Node>, u16),
}

/// Why a query text is not evaluated here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub &'static str);

impl TsQuery {
    /// Reads a `tsquery` as PostgreSQL prints it, e.g.
    /// `'communiti' & ( 'polic' | !'fire' ) & 'war' <2> 'drug'`.
    pub fn parse(text: &str) -> Result<TsQuery, Unsupported> {
        let mut parser = Parser {
            chars: text.chars().collect(),
            at: 0,
            operands: Vec::new(),
            prefixes: Vec::new(),
        };
        parser.skip_space();
        if parser.at == parser.chars.len() {
            return Ok(TsQuery {
                text: String::new(),
                root: None,
                operands: Vec::new(),
                prefixes: Vec::new(),
            });
        }
        let root = parser.expression(0)?;
        parser.skip_space();
        if parser.at != parser.chars.len() {
            return Err(Unsupported("trailing text"));
        }
        check_phrases(&root, false)?;
        Ok(TsQuery {
            text: text.to_string(),
            root: Some(root),
            operands: parser.operands,
            prefixes: parser.prefixes,
        })
    }

    /// Whether any operand is a prefix.
    pub fn has_prefix(&self) -> bool {
        self.prefixes.contains(&true)
    }

    /// Whether the query is only operands joined by `&`: then it holds
    /// exactly when every operand is present.
    pub fn is_conjunction(&self) -> bool {
        fn walk(node: &Node) -> bool {
            match node {
                Node::Operand(_) => true,
                Node::And(left, right) => walk(left) && walk(right),
                _ => false,
            }
        }
        self.root.as_ref().is_some_and(walk)
    }

    /// Whether any operand is under a phrase operator (positions matter).
    pub fn has_phrase(&self) -> bool {
        fn walk(node: &Node) -> bool {
            match node {
                Node::Operand(_) => false,
                Node::Not(inner) => walk(inner),
                Node::And(left, right) | Node::Or(left, right) => walk(left) || walk(right),
                Node::Phrase(..) => true,
            }
        }
        self.root.as_ref().is_some_and(walk)
    }
}

/// Inside a phrase only operands and phrases are evaluated here.
fn check_phrases(node: &Node, in_phrase: bool) -> Result<(), Unsupported> {
    match node {
        Node::Operand(_) => Ok(()),
        Node::Not(inner) if !in_phrase => check_phrases(inner, false),
        Node::And(left, right) | Node::Or(left, right) if !in_phrase => {
            check_phrases(left, false)?;
            check_phrases(right, false)
        }
        Node::Phrase(left, right, _) => {
            check_phrases(left, true)?;
            check_phrases(right, true)
        }
        _ => Err(Unsupported("negation or alternatives inside a phrase")),
    }
}

struct Parser {
    chars: Vec<char>,
    at: usize,
    operands: Vec<String>,
    prefixes: Vec<bool>,
}

/// Binary operators by binding strength, as PostgreSQL orders them.
#[derive(Clone, Copy)]
enum Binary {
    Or,
    And,
    Phrase(u16),
}

impl Binary {
    fn strength(self) -> u8 {
        match self {
            Binary::Or => 1,
            Binary::And => 2,
            Binary::Phrase(_) => 3,
        }
    }
}

impl Parser {
    fn skip_space(&mut self) {
        while self.chars.get(self.at).is_some_and(|c| c.is_whitespace()) {
            self.at += 1;
        }
    }

    /// Operators bind left to right; a stronger one binds first.
    fn expression(&mut self, weakest: u8) -> Result<Node, Unsupported> {
        let mut left = self.unary()?;
        loop {
            self.skip_space();
            let save = self.at;
            let Some(operator) = self.binary()? else {
                return Ok(left);
            };
            if operator.strength() <= weakest {
                self.at = save;
                return Ok(left);
            }
            let right = self.expression(operator.strength())?;
            left = match operator {
                Binary::Or => Node::Or(Box::new(left), Box::new(right)),
                Binary::And => Node::And(Box::new(left), Box::new(right)),
                Binary::Phrase(distance) => Node::Phrase(Box::new(left), Box::new(right), distance),
            };
        }
    }

    fn binary(&mut self) -> Result<Option<Binary>, Unsupported> {
        match self.chars.get(self.at) {
            Some('&') => {
                self.at += 1;
                Ok(Some(Binary::And))
            }
            Some('|') => {
                self.at += 1;
                Ok(Some(Binary::Or))
            }
            Some('<') => {
                self.at += 1;
                let start = self.at;
                while self.chars.get(self.at).is_some_and(|c| *c != '>') {
                    self.at += 1;
                }
                let inside: String = self.chars[start..self.at.min(self.chars.len())]
                    .iter()
                    .collect();
                self.at += 1;
                let distance = if inside == "-" {
                    1
                } else {
                    inside
                        .parse::<u16>()
                        .map_err(|_| Unsupported("phrase distance"))?
                };
                Ok(Some(Binary::Phrase(distance)))
            }
            None | Some(')') => Ok(None),
            Some(_) => Err(Unsupported("operator")),
        }
    }

    fn unary(&mut self) -> Result<Node, Unsupported> {
        self.skip_space();
        match self.chars.get(self.at) {
            Some('!') => {
                self.at += 1;
                Ok(Node::Not(Box::new(self.unary()?)))
            }
            Some('(') => {
                self.at += 1;
                let inner = self.expression(0)?;
                self.skip_space();
                if self.chars.get(self.at) != Some(&')') {
                    return Err(Unsupported("unbalanced parenthesis"));
                }
                self.at += 1;
                Ok(inner)
            }
            Some('\'') => {
                self.at += 1;
                let mut lexeme = String::new();
                loop {
                    match self.chars.get(self.at) {
                        Some('\'') if self.chars.get(self.at + 1) == Some(&'\'') => {
                            lexeme.push('\'');
                            self.at += 2;
                        }
                        Some('\'') => {
                            self.at += 1;
                            break;
                        }
                        Some('\\') if self.at + 1 < self.chars.len() => {
                            lexeme.push(self.chars[self.at + 1]);
                            self.at += 2;
                        }
                        Some(c) => {
                            lexeme.push(*c);
                            self.at += 1;
                        }
                        None => return Err(Unsupported("unterminated lexeme")),
                    }
                }
                // `:*` makes a prefix; weights (`:A`, `:*AB`) are not
                // evaluated here.
                let mut prefix = false;
                if self.chars.get(self.at) == Some(&':') {
                    if self.chars.get(self.at + 1) != Some(&'*') {
                        return Err(Unsupported("weight restriction"));
                    }
                    self.at += 2;
                    if self
                        .chars
                        .get(self.at)
                        .is_some_and(|c| c.is_ascii_alphabetic())
                    {
                        return Err(Unsupported("weight restriction"));
                    }
                    prefix = true;
                }
                self.operands.push(lexeme);
                self.prefixes.push(prefix);
                Ok(Node::Operand(self.operands.len() - 1))
            }
            _ => Err(Unsupported("operand")),
        }
    }
}

/// Evaluates `node` given, for each operand, whether it is present and (for
/// phrases) its positions in ascending order. Returns, for a phrase, the
/// positions where it ends.
fn phrase_ends<'a>(node: &Node, positions: &impl Fn(usize) -> &'a [u16]) -> (Vec<u16>, u16) {
    match node {
        Node::Operand(operand) => (positions(*operand).to_vec(), 0),
        Node::Phrase(left, right, distance) => {
            let (left_ends, left_width) = phrase_ends(left, positions);
            let (right_ends, right_width) = phrase_ends(right, positions);
            let gap = u32::from(*distance) + u32::from(right_width);
            let ends = right_ends
                .into_iter()
                .filter(|end| {
                    u32::from(*end)
                        .checked_sub(gap)
                        .is_some_and(|start| left_ends.binary_search(&(start as u16)).is_ok())
                })
                .collect();
            (
                ends,
                left_width
                    .saturating_add(*distance)
                    .saturating_add(right_width),
            )
        }
        // Refused by `check_phrases`.
        _ => (Vec::new(), 0),
    }
}

/// Whether `node` holds, given each operand's presence and positions.
pub fn holds<'a>(
    node: &Node,
    present: &impl Fn(usize) -> bool,
    positions: &impl Fn(usize) -> &'a [u16],
) -> bool {
    match node {
        Node::Operand(operand) => present(*operand),
        Node::Not(inner) => !holds(inner, present, positions),
        Node::And(left, right) => {
            holds(left, present, positions) && holds(right, present, positions)
        }
        Node::Or(left, right) => {
            holds(left, present, positions) || holds(right, present, positions)
        }
        Node::Phrase(..) => !phrase_ends(node, positions).0.is_empty(),
    }
}

/// One occurrence of query words in a document: a position (with weight),
/// which lexeme it is (lexemes sort as the document's vector sorts them)
/// and which operands it satisfies.
#[derive(Debug, Clone, Copy)]
pub struct Occurrence {
    pub word: WordPos,
    pub lexeme: u32,
    pub operands: u64,
}

/// `ts_rank_cd(vector, query)` with the default weights and no
/// normalization, from the document's occurrences of the query's lexemes
/// (in any order; sorted and merged in place).
pub fn rank_cd(query: &TsQuery, occurrences: &mut Vec<Occurrence>) -> f32 {
    Ranker::new(query).rank(occurrences)
}

/// Ranks many documents for one query, reusing its scratch space.
pub struct Ranker<'q> {
    root: Option<&'q Node>,
    seen: Seen,
    inverse: [f64; 4],
}

impl<'q> Ranker<'q> {
    pub fn new(query: &'q TsQuery) -> Self {
        const WEIGHTS: [f32; 4] = [0.1, 0.2, 0.4, 1.0];
        Ranker {
            root: query.root.as_ref(),
            seen: Seen::new(
                query.operands.len(),
                query.has_phrase(),
                query.is_conjunction(),
            ),
            inverse: WEIGHTS.map(|weight| 1.0 / f64::from(weight)),
        }
    }

    pub fn rank(&mut self, occurrences: &mut Vec<Occurrence>) -> f32 {
        let Some(root) = self.root else {
            return 0.0;
        };
        if occurrences.is_empty() {
            return 0.0;
        }
        // Ascending by position, then weight, then lexeme; one entry per
        // (position with weight, lexeme) holding every operand it satisfies.
        occurrences.sort_unstable_by_key(|occurrence| {
            (u64::from(position(occurrence.word)) << 34)
                | ((weight(occurrence.word) as u64) << 32)
                | u64::from(occurrence.lexeme)
        });
        occurrences.dedup_by(|later, earlier| {
            if later.word == earlier.word && later.lexeme == earlier.lexeme {
                earlier.operands |= later.operands;
                true
            } else {
                false
            }
        });
        let doc = occurrences.as_slice();
        let mut wdoc = 0.0f64;
        let mut from = 0usize;
        while let Some(cover) = next_cover(root, doc, &mut from, &mut self.seen) {
            let inv_sum: f64 = doc[cover.begin..=cover.end]
                .iter()
                .map(|occurrence| self.inverse[weight(occurrence.word)])
                .sum();
            let cpos = ((cover.end - cover.begin + 1) as f64) / inv_sum;
            let span = cover.end as i64 - cover.begin as i64;
            let mut noise = (i64::from(cover.q) - i64::from(cover.p)) - span;
            if noise < 0 {
                noise = span / 2;
            }
            wdoc += cpos / ((1 + noise) as f64);
        }
        wdoc as f32
    }
}

struct Cover {
    begin: usize,
    end: usize,
    p: u16,
    q: u16,
}

/// Which operands a scan has met, and where (for phrases).
struct Seen {
    present: Vec<bool>,
    /// How many operands are present.
    count: usize,
    positions: Vec<Vec<u16>>,
    phrase: bool,
    /// The query holds when every operand is present.
    conjunction: bool,
}

impl Seen {
    fn new(operands: usize, phrase: bool, conjunction: bool) -> Self {
        Seen {
            present: vec![false; operands],
            count: 0,
            positions: vec![Vec::new(); operands],
            phrase,
            conjunction,
        }
    }

    fn reset(&mut self) {
        self.present.iter_mut().for_each(|present| *present = false);
        self.count = 0;
        if self.phrase {
            self.positions.iter_mut().for_each(Vec::clear);
        }
    }

    /// Records an occurrence met scanning forward (`backward` false) or
    /// backward; positions stay ascending either way, each once.
    fn add(&mut self, occurrence: &Occurrence, backward: bool) {
        let mut operands = occurrence.operands;
        while operands != 0 {
            let operand = operands.trailing_zeros() as usize;
            operands &= operands - 1;
            if operand >= self.present.len() {
                continue;
            }
            if !self.present[operand] {
                self.present[operand] = true;
                self.count += 1;
            }
            if self.phrase {
                let at = position(occurrence.word);
                let positions = &mut self.positions[operand];
                if backward {
                    if positions.first() != Some(&at) {
                        positions.insert(0, at);
                    }
                } else if positions.last() != Some(&at) {
                    positions.push(at);
                }
            }
        }
    }

    fn holds(&self, root: &Node) -> bool {
        if self.conjunction {
            return self.count == self.present.len();
        }
        holds(root, &|operand| self.present[operand], &|operand| {
            self.positions[operand].as_slice()
        })
    }
}

/// PostgreSQL's `Cover`: the shortest stretch, from `from` on, that
/// satisfies the query.
fn next_cover(root: &Node, doc: &[Occurrence], from: &mut usize, seen: &mut Seen) -> Option<Cover> {
    loop {
        seen.reset();
        let mut end = None;
        for (at, occurrence) in doc.iter().enumerate().skip(*from) {
            seen.add(occurrence, false);
            if seen.holds(root) {
                if position(occurrence.word) > 0 {
                    end = Some(at);
                }
                break;
            }
        }
        let end = end?;
        let q = position(doc[end].word);
        seen.reset();
        let mut begin = None;
        let mut at = end as isize;
        while at >= *from as isize {
            let occurrence = &doc[at as usize];
            seen.add(occurrence, true);
            if seen.holds(root) {
                begin = Some(at as usize);
                break;
            }
            at -= 1;
        }
        if let Some(begin) = begin {
            let p = position(doc[begin].word);
            if p <= q {
                *from = begin + 1;
                return Some(Cover { begin, end, p, q });
            }
        }
        *from += 1;
    }
}

/// Orders ranks as `ORDER BY rank DESC` does for float8 (no NaNs here).
pub fn by_rank_descending(a: f64, b: f64) -> Ordering {
    b.partial_cmp(&a).unwrap_or(Ordering::Equal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> TsQuery {
        TsQuery::parse(text).expect("parses")
    }

    #[test]
    fn reads_what_websearch_to_tsquery_prints() {
        let query = parse("'communiti' & 'polic'");
        assert_eq!(query.operands, ["communiti", "polic"]);
        assert!(matches!(query.root, Some(Node::And(..))));
        let query = parse("'war' <2> 'drug' & !'fire' | 'it''s'");
        assert_eq!(query.operands, ["war", "drug", "fire", "it's"]);
        // `|` binds loosest.
        assert!(matches!(query.root, Some(Node::Or(..))));
        let query = parse("( 'a' | 'b' ) & 'c'");
        assert!(matches!(query.root, Some(Node::And(..))));
        assert!(parse("").root.is_none());
    }

    #[test]
    fn reads_prefixes_and_refuses_weights() {
        let query = parse("'communiti' & 'polic':*");
        assert_eq!(query.operands, ["communiti", "polic"]);
        assert_eq!(query.prefixes, [false, true]);
        assert!(query.has_prefix());
        assert!(TsQuery::parse("'polic':A").is_err());
        assert!(TsQuery::parse("'polic':*AB").is_err());
    }

    #[test]
    fn refuses_what_it_does_not_evaluate_exactly() {
        assert!(TsQuery::parse("'a' <-> !'b'").is_err());
        assert!(TsQuery::parse("'a' <-> ( 'b' | 'c' )").is_err());
    }

    fn occurrences(query: &TsQuery, doc: &[(&str, &[WordPos])]) -> Vec<Occurrence> {
        let mut lexemes: Vec<&str> = doc.iter().map(|(lexeme, _)| *lexeme).collect();
        lexemes.sort_unstable();
        let mut out = Vec::new();
        for (lexeme, words) in doc {
            let operands = query
                .operands
                .iter()
                .enumerate()
                .filter(|(_, operand)| operand == lexeme)
                .fold(0u64, |mask, (index, _)| mask | 1 << index);
            if operands == 0 {
                continue;
            }
            let id = lexemes.iter().position(|l| l == lexeme).unwrap() as u32;
            for word in *words {
                out.push(Occurrence {
                    word: *word,
                    lexeme: id,
                    operands,
                });
            }
        }
        out
    }

    const A: WordPos = 3 << 14;
    const B: WordPos = 2 << 14;

    /// Figures from PostgreSQL 15: `SELECT ts_rank_cd(v, q)` for these.
    #[test]
    fn ranks_as_postgresql_does() {
        // 'communiti':1A 'polic':2A, query 'communiti' & 'polic' → 1.
        let query = parse("'communiti' & 'polic'");
        let mut doc = occurrences(&query, &[("communiti", &[A | 1]), ("polic", &[A | 2])]);
        assert_eq!(rank_cd(&query, &mut doc), 1.0);
        // Same words two apart with one noise word, weight B: 0.4/2 = 0.2.
        let mut doc = occurrences(&query, &[("communiti", &[B | 1]), ("polic", &[B | 3])]);
        assert_eq!(rank_cd(&query, &mut doc), 0.2);
        // A single word, weight D: one cover of one word, 0.1.
        let query = parse("'polic'");
        let mut doc = occurrences(&query, &[("polic", &[5])]);
        assert_eq!(rank_cd(&query, &mut doc), 0.1);
        // Missing word: no cover.
        let query = parse("'communiti' & 'polic'");
        let mut doc = occurrences(&query, &[("polic", &[A | 2])]);
        assert_eq!(rank_cd(&query, &mut doc), 0.0);
    }

    #[test]
    fn phrases_need_their_words_in_place() {
        let query = parse("'war' <2> 'drug'");
        let present = |_: usize| true;
        let root = query.root.as_ref().unwrap();
        // war at 1, drug at 3: "war on drugs".
        let doc: [&[u16]; 2] = [&[1], &[3]];
        assert!(holds(root, &present, &|operand| doc[operand]));
        let doc: [&[u16]; 2] = [&[1], &[2]];
        assert!(!holds(root, &present, &|operand| doc[operand]));
    }
}
