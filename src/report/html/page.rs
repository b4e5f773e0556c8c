//! One self-contained HTML page: its styles inline, its charts inline SVG, no script and
//! nothing fetched, so that it opens from a file, a CI artefact or an e-mail alike, and prints.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::ops::Range;

/// A page being written: headings, paragraphs, tables and charts, in order.
pub(crate) struct Page {
    title: String,
    body: String,
    /// The anchors given so far: each heading's is unique on the page.
    anchors: HashSet<String>,
    /// Second-level headings with their anchors, for the contents.
    contents: Vec<(String, String)>,
}

/// Where [`Page::contents_here`] puts the contents, until the page is finished.
const CONTENTS: &str = "<!-- storebench: contents -->\n";

/// A table cell: its text and how it is marked.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cell {
    pub(crate) text: String,
    pub(crate) mark: Mark,
}

/// What sets a cell apart. Each is said in words or weight, never by colour alone, so that
/// the page reads the same to someone colour-blind and on paper.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Mark {
    #[default]
    None,
    /// The best value of its column: bold.
    Best,
    /// A regression: bold, on a tint, its verdict in words.
    Regressed,
    /// An improvement: its verdict in words, on a tint.
    Improved,
    /// Not judged, or within noise: greyed.
    Quiet,
}

impl Cell {
    pub(crate) fn plain(text: impl Into<String>) -> Cell {
        Cell {
            text: text.into(),
            mark: Mark::None,
        }
    }

    pub(crate) fn marked(text: impl Into<String>, mark: Mark) -> Cell {
        Cell {
            text: text.into(),
            mark,
        }
    }
}

/// The styles of every page: system fonts, tables whose numbers line up, charts as wide as
/// the page allows, and for print no chart cut across a page.
const STYLE: &str = "
body { font: 15px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2rem auto;
  max-width: 1200px; padding: 0 1rem; color: #111; background: #fff; }
h1 { font-size: 1.7rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ccc; }
h3 { margin-top: 1.8rem; }
table { border-collapse: collapse; margin: 0.8rem 0; font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; }
th, td { border: 1px solid #bbb; padding: 0.25rem 0.5rem; }
th { background: #f0f0f0; text-align: left; }
td.number { text-align: right; white-space: nowrap; }
td.best { font-weight: 700; }
td.regressed { font-weight: 700; background: #fde0d0; }
td.improved { background: #d8ecf8; }
td.quiet { color: #666; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(540px, 100%), 1fr));
  gap: 0 1.5rem; }
figure.chart { margin: 1rem 0; }
figure.chart svg { max-width: 100%; height: auto; display: block; }
figcaption { color: #444; font-size: 0.9rem; }
.notice { border-left: 4px solid #d55e00; background: #fff4ec; padding: 0.4rem 0.8rem; }
nav ul { columns: 3; }
@media print { figure.chart, tr { break-inside: avoid; } .scroll { overflow: visible; }
  body { margin: 0; } }
";

impl Page {
    pub(crate) fn new(title: &str) -> Page {
        let mut page = Page {
            title: title.to_owned(),
            body: String::new(),
            anchors: HashSet::new(),
            contents: Vec::new(),
        };
        page.heading(1, title, None);
        page
    }

    /// A heading, with an anchor a contents list can link to: `id`, or with `-2`, `-3`... when
    /// a heading before it took that one. Returns the anchor given.
    pub(crate) fn heading(&mut self, level: u8, text: &str, id: Option<&str>) -> Option<String> {
        let given = id.map(|id| {
            let mut given = id.to_owned();
            let mut n = 1;
            while !self.anchors.insert(given.clone()) {
                n += 1;
                given = format!("{id}-{n}");
            }
            given
        });
        let id = given
            .as_ref()
            .map_or(String::new(), |id| format!(" id=\"{}\"", escape(id)));
        // Writing into a String cannot fail.
        let _ = writeln!(self.body, "<h{level}{id}>{}</h{level}>", escape(text));
        if let (2, Some(anchor)) = (level, &given) {
            self.contents.push((anchor.clone(), text.to_owned()));
        }
        given
    }

    pub(crate) fn paragraph(&mut self, text: &str) {
        let _ = writeln!(self.body, "<p>{}</p>", escape(text));
    }

    /// A paragraph that warns: what was skipped, and why.
    pub(crate) fn notice(&mut self, text: &str) {
        let _ = writeln!(self.body, "<p class=\"notice\">{}</p>", escape(text));
    }

    /// Here goes the list of links to every second-level heading with an anchor, written
    /// when the page is finished, so that it lists the anchors the headings were given.
    pub(crate) fn contents_here(&mut self) {
        self.body.push_str(CONTENTS);
    }

    /// A table; the columns in `numeric` hold numbers, aligned right. Every row has as many
    /// cells as there are headers.
    pub(crate) fn table(&mut self, headers: &[String], rows: &[Vec<Cell>], numeric: Range<usize>) {
        self.body
            .push_str("<div class=\"scroll\"><table>\n<thead><tr>");
        for header in headers {
            let _ = write!(self.body, "<th scope=\"col\">{}</th>", escape(header));
        }
        self.body.push_str("</tr></thead>\n<tbody>\n");
        for row in rows {
            self.body.push_str("<tr>");
            for (column, cell) in row.iter().enumerate() {
                let mut classes = Vec::new();
                if numeric.contains(&column) {
                    classes.push("number");
                }
                classes.extend(match cell.mark {
                    Mark::None => None,
                    Mark::Best => Some("best"),
                    Mark::Regressed => Some("regressed"),
                    Mark::Improved => Some("improved"),
                    Mark::Quiet => Some("quiet"),
                });
                let class = if classes.is_empty() {
                    String::new()
                } else {
                    format!(" class=\"{}\"", classes.join(" "))
                };
                let _ = write!(self.body, "<td{class}>{}</td>", escape(&cell.text));
            }
            self.body.push_str("</tr>\n");
        }
        self.body.push_str("</tbody></table></div>\n");
    }

    /// A chart: an SVG document drawn by this crate (never one read from a file), inline, with
    /// its caption. `series` names what its legend must show, one a line, for whoever checks
    /// the page.
    pub(crate) fn chart(&mut self, svg: &str, caption: &str, series: &[&str]) {
        // The XML declaration plotters may write is not HTML.
        let svg = svg.trim_start();
        let svg = match svg.strip_prefix("<?xml") {
            Some(rest) => rest.split_once("?>").map_or(svg, |(_, after)| after),
            None => svg,
        };
        let _ = writeln!(
            self.body,
            "<figure class=\"chart\" data-series=\"{}\">\n{}\n<figcaption>{}</figcaption></figure>",
            escape(&series.join("\n")),
            svg.trim(),
            escape(caption)
        );
    }

    /// Charts from here to [`Page::end_charts`] sit side by side where the page is wide
    /// enough, one under another where it is not.
    pub(crate) fn begin_charts(&mut self) {
        self.body.push_str("<div class=\"charts\">\n");
    }

    pub(crate) fn end_charts(&mut self) {
        self.body.push_str("</div>\n");
    }

    /// The whole document.
    pub(crate) fn finish(self) -> String {
        let mut contents = String::from("<nav><ul>\n");
        for (anchor, text) in &self.contents {
            let _ = writeln!(
                contents,
                "<li><a href=\"#{}\">{}</a></li>",
                escape(anchor),
                escape(text)
            );
        }
        contents.push_str("</ul></nav>\n");
        let body = self.body.replacen(CONTENTS, &contents, 1);
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"generator\" content=\"storebench {}\">\n\
             <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{}</body>\n</html>\n",
            env!("CARGO_PKG_VERSION"),
            escape(&self.title),
            body
        )
    }
}

/// `text` as HTML text or an attribute value.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An anchor made of `text`: letters, digits and `-` only.
pub(crate) fn anchor(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cannot_become_markup() {
        let mut page = Page::new("a <b> & \"c\"");
        page.paragraph("<script>alert(1)</script>");
        page.table(
            &["<th>".into()],
            &[vec![Cell::marked("</td>", Mark::Best)]],
            0..1,
        );
        let html = page.finish();
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("<title>a &lt;b&gt; &amp; &quot;c&quot;</title>"));
        assert!(html.contains("<td class=\"number best\">&lt;/td&gt;</td>"));
    }

    #[test]
    fn headings_get_anchors_of_their_own_and_the_contents_list_them() {
        let mut page = Page::new("t");
        page.contents_here();
        page.heading(2, "ycsb-a", Some("ycsb-a"));
        page.heading(2, "ycsb_a", Some("ycsb-a"));
        let html = page.finish();
        assert!(html.contains("<h2 id=\"ycsb-a\">ycsb-a</h2>"));
        assert!(html.contains("<h2 id=\"ycsb-a-2\">ycsb_a</h2>"));
        assert!(html.contains("<li><a href=\"#ycsb-a-2\">ycsb_a</a></li>"));
        assert!(!html.contains(CONTENTS));
    }

    #[test]
    fn a_chart_is_inline_svg_without_its_xml_declaration() {
        let mut page = Page::new("t");
        page.chart(
            "<?xml version=\"1.0\"?>\n<svg viewBox=\"0 0 1 1\"></svg>",
            "cap",
            &["redb", "automerge"],
        );
        let html = page.finish();
        assert!(!html.contains("<?xml"));
        assert!(html.contains("<svg viewBox=\"0 0 1 1\"></svg>"));
        assert!(html.contains("data-series=\"redb\nautomerge\""));
    }
}
