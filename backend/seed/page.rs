//! Parser for Knowledge Lab module pages saved as text.
//!
//! A page reads, top to bottom:
//!
//! ```text
//! [Title line]                       optional
//! Intro paragraph…                   one or more
//! image alt text                     optional, one short line
//! Resources Related to <Topic>       the heading of the resource list
//! Visit the … resource index here.   page furniture
//!   • Reset                          page furniture
//! Type[, Type] [| Year]              one entry: its types and year,
//! Title                              its title,
//!   • Topic                          and its topics
//! …
//! Disclaimer paragraph
//! Empowering Law Enforcement …       closing promotional block
//! ```
//!
//! Unknown stray lines between entries are skipped with a warning instead of
//! derailing the entries after them.

use std::ops::Range;

/// A parsed module page; names are as written on the page, not yet resolved
/// to documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The page's own title line, when it has one.
    pub title: Option<String>,
    /// X of "Resources Related to X".
    pub topic_name: String,
    pub heading: String,
    pub heading_line: usize,
    /// Markdown: paragraphs separated by blank lines.
    pub intro: String,
    pub hero_image_alt: Option<String>,
    pub entries: Vec<Entry>,
    pub disclaimer: Option<String>,
    /// Lines that were skipped, and why.
    pub warnings: Vec<Warning>,
}

impl Page {
    /// The module's title: its title line, else the heading's topic.
    pub fn module_title(&self) -> &str {
        self.title.as_deref().unwrap_or(&self.topic_name)
    }
}

/// One resource as listed on a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub line: usize,
    pub types: Vec<String>,
    pub year: Option<i32>,
    pub title: String,
    pub topics: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub line: usize,
    pub message: String,
}

/// A page that cannot be read as a module; `line` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

const HEADING_PREFIX: &str = "resources related to ";
const BULLETS: [char; 5] = ['•', '◦', '▪', '‣', '·'];
const LONGEST_TITLE_LINE: usize = 150;
const LONGEST_TYPE_NAME: usize = 60;

/// Lines that belong to the page's chrome, not its content.
fn is_furniture(text: &str) -> bool {
    let lower = text.to_lowercase();
    let bare = lower.trim().trim_start_matches(BULLETS).trim();
    (bare.starts_with("visit the") && bare.contains("resource index"))
        || matches!(bare, "reset" | "clear" | "clear all" | "filter" | "filters")
}

/// The first line of the closing promotional block; it and everything after
/// it is furniture.
fn starts_closing_block(text: &str) -> bool {
    let lower = text.to_lowercase();
    lower.starts_with("empowering law enforcement excellence")
        || lower.starts_with("a beacon of guidance at the national law enforcement knowledge lab")
}

#[derive(Debug, Clone)]
struct Line<'a> {
    number: usize,
    text: &'a str,
}

impl<'a> Line<'a> {
    fn bullet(&self) -> Option<&'a str> {
        let trimmed = self.text.trim_start();
        let rest = trimmed
            .strip_prefix(BULLETS)
            .or_else(|| trimmed.strip_prefix("- "))
            .or_else(|| trimmed.strip_prefix("* "))?;
        Some(rest.trim())
    }
}

/// Reads `text` (LF or CRLF, with or without a byte-order mark) as a page.
pub fn parse(text: &str) -> Result<Page, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<Line> = text
        .split('\n')
        .enumerate()
        .map(|(index, raw)| Line {
            number: index + 1,
            text: raw.trim_end_matches('\r').trim_end(),
        })
        .collect();

    let heading_index = lines
        .iter()
        .position(|line| line.text.trim().to_lowercase().starts_with(HEADING_PREFIX))
        .ok_or_else(|| ParseError {
            line: 1,
            message: "no \"Resources Related to …\" heading: this does not look like a module page"
                .into(),
        })?;
    let heading_line = &lines[heading_index];
    let heading = collapse_spaces(heading_line.text);
    let topic_name = heading[HEADING_PREFIX.len()..].trim().to_string();
    if topic_name.is_empty() {
        return Err(ParseError {
            line: heading_line.number,
            message: "the \"Resources Related to\" heading names no topic".into(),
        });
    }

    let mut page = Page {
        title: None,
        topic_name,
        heading,
        heading_line: heading_line.number,
        intro: String::new(),
        hero_image_alt: None,
        entries: Vec::new(),
        disclaimer: None,
        warnings: Vec::new(),
    };
    read_header(&lines[..heading_index], &mut page);
    read_body(&lines[heading_index + 1..], &mut page)?;
    Ok(page)
}

/// Title line, intro paragraphs and alt text, from the lines above the heading.
fn read_header(lines: &[Line], page: &mut Page) {
    let mut paragraphs: Vec<Vec<&Line>> = paragraphs(lines)
        .into_iter()
        .map(|range| lines[range].iter().collect())
        .collect();
    let single_short_line = |paragraph: &Vec<&Line>| {
        paragraph.len() == 1
            && paragraph[0].text.trim().chars().count() <= LONGEST_TITLE_LINE
            && !paragraph[0]
                .text
                .trim()
                .ends_with(['.', '!', '?', ':', ';', ','])
    };
    if let Some(first) = paragraphs.first()
        && paragraphs.len() >= 2
        && single_short_line(first)
        && first[0]
            .text
            .trim()
            .starts_with(|c: char| c.is_uppercase() || c.is_ascii_digit())
    {
        page.title = Some(collapse_spaces(first[0].text));
        paragraphs.remove(0);
    }
    if let Some(last) = paragraphs.last()
        && single_short_line(last)
        && (paragraphs.len() >= 2 || page.title.is_some())
    {
        page.hero_image_alt = Some(collapse_spaces(last[0].text));
        paragraphs.pop();
    }
    page.intro = paragraphs
        .iter()
        .map(|paragraph| {
            paragraph
                .iter()
                .map(|line| line.text.trim())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect::<Vec<_>>()
        .join("\n\n");
}

/// Ranges of consecutive non-blank lines.
fn paragraphs(lines: &[Line]) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = None;
    for (index, line) in lines.iter().enumerate() {
        match (line.text.trim().is_empty(), start) {
            (false, None) => start = Some(index),
            (true, Some(begin)) => {
                ranges.push(begin..index);
                start = None;
            }
            _ => {}
        }
    }
    if let Some(begin) = start {
        ranges.push(begin..lines.len());
    }
    ranges
}

#[derive(Debug)]
enum Kind<'a> {
    /// "Type, Type | Year" or "Type |"
    Meta {
        types: &'a str,
        year: &'a str,
    },
    Bullet(&'a str),
    Text(&'a str),
}

fn classify<'a>(line: &Line<'a>) -> Kind<'a> {
    if let Some(text) = line.bullet() {
        return Kind::Bullet(text);
    }
    let text = line.text.trim();
    if let Some((types, year)) = text.rsplit_once('|') {
        let year = year.trim();
        // A short token after the bar is meant as a year, even a malformed
        // one ("20x1"), which then fails loudly instead of being skipped.
        let looks_like_year = year.is_empty()
            || year.chars().all(|c| c.is_ascii_digit())
            || (year.chars().count() <= 10 && !year.contains(' '));
        if looks_like_year && types.trim().chars().count() <= LONGEST_TYPE_NAME * 3 {
            return Kind::Meta {
                types: types.trim(),
                year,
            };
        }
    }
    Kind::Text(text)
}

/// Entries, disclaimer and furniture below the heading.
fn read_body(lines: &[Line], page: &mut Page) -> Result<(), ParseError> {
    let content: Vec<&Line> = lines
        .iter()
        .take_while(|line| !starts_closing_block(line.text.trim()))
        .filter(|line| !line.text.trim().is_empty() && !is_furniture(line.text))
        .collect();
    let kinds: Vec<Kind> = content.iter().map(|line| classify(line)).collect();
    let known_types: Vec<String> = kinds
        .iter()
        .filter_map(|kind| match kind {
            Kind::Meta { types, .. } => Some(split_types(types)),
            _ => None,
        })
        .flatten()
        .map(|name| name.to_lowercase())
        .collect();

    // Where the last entry's bullets end: prose after it is the disclaimer.
    let mut index = 0;
    let mut trailing_text: Vec<&Line> = Vec::new();
    while index < content.len() {
        let line = content[index];
        let starts_entry = match &kinds[index] {
            Kind::Meta { .. } => true,
            Kind::Text(text) => {
                // A type line without a year: a short line, then the title,
                // then topic bullets (or a known type before another entry).
                let short = text.chars().count() <= LONGEST_TYPE_NAME;
                let title_follows = matches!(kinds.get(index + 1), Some(Kind::Text(_)));
                let bullets_follow = matches!(kinds.get(index + 2), Some(Kind::Bullet(_)));
                let known = split_types(text)
                    .iter()
                    .all(|name| known_types.contains(&name.to_lowercase()));
                let entry_follows = matches!(kinds.get(index + 2), Some(Kind::Meta { .. }) | None);
                short && title_follows && (bullets_follow || (known && entry_follows))
            }
            Kind::Bullet(_) => false,
        };
        if !starts_entry {
            match &kinds[index] {
                Kind::Text(_) => trailing_text.push(line),
                Kind::Bullet(text) => page.warnings.push(Warning {
                    line: line.number,
                    message: format!("skipped a bullet that belongs to no entry: {text:?}"),
                }),
                Kind::Meta { .. } => unreachable!("meta lines start entries"),
            }
            index += 1;
            continue;
        }
        for stray in trailing_text.drain(..) {
            page.warnings.push(Warning {
                line: stray.number,
                message: format!("skipped a line between entries: {:?}", stray.text.trim()),
            });
        }
        let (types, year) = match &kinds[index] {
            Kind::Meta { types, year } => (*types, *year),
            Kind::Text(text) => (*text, ""),
            Kind::Bullet(_) => unreachable!("bullets never start entries"),
        };
        let entry_line = line.number;
        let types = split_types(types);
        if types.is_empty() {
            return Err(ParseError {
                line: entry_line,
                message: "an entry's type line names no type".into(),
            });
        }
        let year = parse_year(year, entry_line)?;
        let title = match kinds.get(index + 1) {
            Some(Kind::Text(text)) => {
                index += 2;
                collapse_spaces(text)
            }
            _ => {
                return Err(ParseError {
                    line: entry_line,
                    message: "an entry's type line must be followed by its title".into(),
                });
            }
        };
        let mut topics = Vec::new();
        while let Some(Kind::Bullet(topic)) = kinds.get(index) {
            let topic = collapse_spaces(topic);
            if !topic.is_empty() && !topics.contains(&topic) {
                topics.push(topic);
            }
            index += 1;
        }
        page.entries.push(Entry {
            line: entry_line,
            types,
            year,
            title,
            topics,
        });
    }
    if page.entries.is_empty() {
        return Err(ParseError {
            line: page.heading_line,
            message:
                "no resource entries (\"Type | Year\", title, \"• Topic\" lines) under the heading"
                    .into(),
        });
    }
    if !trailing_text.is_empty() {
        page.disclaimer = Some(
            trailing_text
                .iter()
                .map(|line| collapse_spaces(line.text))
                .collect::<Vec<_>>()
                .join("\n\n"),
        );
    }
    Ok(())
}

fn split_types(types: &str) -> Vec<String> {
    types
        .split([',', ';'])
        .map(collapse_spaces)
        .filter(|name| !name.is_empty())
        .collect()
}

fn parse_year(year: &str, line: usize) -> Result<Option<i32>, ParseError> {
    if year.is_empty() {
        return Ok(None);
    }
    match year.parse::<i32>() {
        Ok(value) if year.len() == 4 => Ok(Some(value)),
        _ => Err(ParseError {
            line,
            message: format!("{year:?} is not a four-digit year"),
        }),
    }
}

fn collapse_spaces(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWLEDGE_LAB_PAGE: &str =
        include_str!("../../seeds/community-trust-and-partnerships.txt");
    const USE_OF_FORCE_PAGE: &str = include_str!("../../tests/pages/use-of-force.txt");

    #[test]
    fn reads_the_knowledge_lab_page() {
        let page = parse(KNOWLEDGE_LAB_PAGE).unwrap();
        assert_eq!(page.title, None);
        assert_eq!(page.module_title(), "Community Trust and Partnerships");
        assert_eq!(page.topic_name, "Community Trust and Partnerships");
        assert_eq!(
            page.hero_image_alt.as_deref(),
            Some("homeowner pointing out an issue to a police officer")
        );
        assert!(
            page.intro
                .starts_with("There is almost no aspect of policing")
        );
        assert_eq!(
            page.intro.matches("\n\n").count(),
            1,
            "two intro paragraphs"
        );
        assert_eq!(page.entries.len(), 8);
        assert!(page.warnings.is_empty(), "{:?}", page.warnings);
        let report = &page.entries[5];
        assert_eq!(report.types, ["Report"]);
        assert_eq!(report.year, Some(2021));
        assert!(report.title.ends_with("May 27 – June 7, 2020"));
        assert_eq!(
            report.topics,
            [
                "Crime and Violence Response",
                "Community Trust and Partnerships",
                "Response to Mass Demonstrations",
                "Use of Force"
            ]
        );
        assert!(
            page.disclaimer
                .as_deref()
                .unwrap()
                .starts_with("The information provided within these modules")
        );
        assert!(!page.disclaimer.unwrap().contains("Empowering"));
    }

    #[test]
    fn reads_a_crlf_page_with_a_title_line_and_every_variation() {
        let page = parse(USE_OF_FORCE_PAGE).unwrap();
        assert_eq!(page.title.as_deref(), Some("Use of Force"));
        assert_eq!(page.topic_name, "Use of Force");
        assert_eq!(
            page.hero_image_alt.as_deref(),
            Some("officers in a de-escalation training session")
        );
        assert!(page.intro.contains("“use of force” policies – grounded"));
        assert!(!page.intro.contains('\r'));
        let titles: Vec<&str> = page.entries.iter().map(|e| e.title.as_str()).collect();
        assert_eq!(titles.len(), 5, "{titles:?}");
        assert_eq!(page.entries[0].types, ["Report", "Video"]);
        assert_eq!(
            page.entries[0].topics,
            ["Use of Force", "Stops, Searches, and Arrests"]
        );
        assert_eq!(page.entries[1].types, ["Webinar"]);
        assert_eq!(page.entries[1].year, None);
        assert_eq!(page.entries[2].types, ["After Action Report"]);
        assert_eq!(
            page.entries[2].title,
            "Review of the Department’s Response, Part 1: Planning"
        );
        assert_eq!(
            page.entries[4].title,
            "Café Conversations: Officers and Residents on Force"
        );
        assert_eq!(page.warnings.len(), 1, "{:?}", page.warnings);
        assert!(page.warnings[0].message.contains("stray caption"));
        assert_eq!(page.warnings[0].line, 28);
        assert_eq!(
            page.disclaimer.as_deref(),
            Some(
                "The information provided within these modules has been gathered from various sources. This resource is intended to be dynamic."
            )
        );
    }

    #[test]
    fn a_malformed_year_fails_with_its_line() {
        let error = parse(include_str!("../../tests/pages/broken-year.txt")).unwrap_err();
        assert_eq!(error.line, 9);
        assert!(error.message.contains("20x1"), "{error}");
    }

    #[test]
    fn a_page_without_the_heading_is_refused() {
        let error = parse("Just some notes\n\nand more notes.\n").unwrap_err();
        assert!(error.message.contains("Resources Related to"));
    }

    #[test]
    fn a_heading_without_entries_is_refused() {
        let error =
            parse("Intro.\n\nResources Related to Use of Force\n\nNothing listed.\n").unwrap_err();
        assert_eq!(error.line, 3);
    }

    #[test]
    fn stray_bullets_and_lines_do_not_derail_later_entries() {
        let page = parse(
            "Resources Related to Use of Force\n\n  • Orphan bullet\n\nGuidebook/Tool | 2020\nFirst\n  • Use of Force\n\nsome caption\n\nVideo | 2021\nSecond\n  • Use of Force\n",
        )
        .unwrap();
        let titles: Vec<&str> = page.entries.iter().map(|e| e.title.as_str()).collect();
        assert_eq!(titles, ["First", "Second"]);
        assert_eq!(page.warnings.len(), 2, "{:?}", page.warnings);
        assert_eq!(page.disclaimer, None);
    }

    #[test]
    fn entries_without_topics_and_with_a_bom_are_read() {
        let page = parse("\u{feff}Resources Related to Use of Force\n\nReport | 2020\nNo Topics Here\n\nVideo |\nNo Year Either\n").unwrap();
        assert_eq!(page.entries.len(), 2);
        assert!(page.entries[0].topics.is_empty());
        assert_eq!(page.entries[1].year, None);
    }
}
