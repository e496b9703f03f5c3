//! The matrix as people read it: a terminal grid, Markdown (for a CI summary or an issue),
//! and one self-contained HTML page (no external assets: it opens from a CI artifact as it
//! is). Every cell of the HTML grid carries its verdict in `data-verdict`, every count in
//! `data-count`, so a test can read the page as a browser renders it and compare with the JSON.

use std::fmt::Write;

use super::report::{Cell, Counts, MatrixReport, Verdict};

/// A verdict, its count's key in the JSON (`counts[i].<key>`), and how to read the count.
type Tally = (Verdict, &'static str, fn(&Counts) -> usize);

/// The verdicts a cell can have, in the order the legend and the counts give them.
const TALLIES: &[Tally] = &[
    (Verdict::Pass, "pass", |c| c.pass),
    (Verdict::WordedDifferently, "worded_differently", |c| {
        c.worded_differently
    }),
    (Verdict::Flaky, "flaky", |c| c.flaky),
    (Verdict::CheckedInPart, "checked_in_part", |c| {
        c.checked_in_part
    }),
    (Verdict::Fail, "fail", |c| c.fail),
    (Verdict::CouldNotCheck, "could_not_check", |c| {
        c.could_not_check
    }),
    (Verdict::NotApplicable, "not_applicable", |c| {
        c.not_applicable
    }),
    (Verdict::NotSelected, "not_selected", |c| c.not_selected),
    (Verdict::CouldNotRun, "could_not_run", |c| c.could_not_run),
];

/// What a cell says beyond its verdict, in one line: the case and why, or the texts.
fn why(c: &Cell) -> Option<String> {
    match (&c.wording, &c.case, &c.reason) {
        (Some(w), _, _) => Some(format!("{}: {}; seen: {}", w.case, w.notes, w.seen)),
        (None, Some(case), Some(reason)) => Some(format!("{case}: {reason}")),
        (None, None, Some(reason)) => Some(reason.clone()),
        _ => None,
    }
}

/// `N behaviour(s) differ between the M target(s) that ran`, and those that did not.
fn differ_line(r: &MatrixReport) -> String {
    let ran = r.columns.iter().filter(|c| c.error.is_none()).count();
    let mut s = format!(
        "{} behaviour(s) differ between the {ran} target(s) that ran",
        r.differences()
    );
    let down = r.columns.len() - ran;
    if down > 0 {
        s.push_str(&format!("; {down} could not run and show nothing"));
    }
    let unselected = r.counts.first().map_or(0, |c| c.not_selected);
    if unselected > 0 {
        s.push_str(&format!("; {unselected} not selected by the run's filter"));
    }
    s
}

fn fact_rows(r: &MatrixReport) -> Vec<(&'static str, Vec<String>)> {
    let f = |get: &dyn Fn(&super::column::Column) -> String| -> Vec<String> {
        r.columns.iter().map(get).collect()
    };
    vec![
        ("kind", f(&|c| format!("{:?}", c.kind).to_lowercase())),
        ("Kubernetes", f(&|c| c.facts.kubernetes.clone())),
        (
            "container runtime",
            f(&|c| c.facts.container_runtime.clone()),
        ),
        ("OCI runtime", f(&|c| c.facts.oci_runtime.clone())),
        ("kubelet", f(&|c| c.facts.kubelet.clone())),
        ("CNI", f(&|c| c.facts.cni.clone())),
        ("nodes", f(&|c| c.facts.nodes.to_string())),
        ("node image", f(&|c| c.facts.node_image.clone())),
        ("placement", f(&|c| c.facts.placement.clone())),
        ("took", f(&|c| format!("{:.0}s", c.took.as_secs_f64()))),
    ]
}

/// The grid for a terminal: one line per behaviour, a mark per target, then the reasons.
pub fn terminal(r: &MatrixReport) -> String {
    let mut s = String::new();
    let w = r
        .rows
        .iter()
        .map(|x| x.behaviour.len())
        .max()
        .unwrap_or(10)
        .max(18);
    let cw = r
        .columns
        .iter()
        .map(|c| c.target.len())
        .max()
        .unwrap_or(4)
        .max(4)
        + 2;
    let _ = write!(s, "{:<w$}", "");
    for c in &r.columns {
        let _ = write!(s, "{:^cw$}", c.target);
    }
    s.push('\n');
    for (name, values) in fact_rows(r) {
        let _ = writeln!(s, "  {name}: {}", values.join(" | "));
    }
    s.push('\n');
    let mut shown_same = false;
    for row in &r.rows {
        if !row.differs && !shown_same {
            let _ = writeln!(
                s,
                "{:-<1$}",
                "-- the same on every target ",
                w + cw * r.columns.len()
            );
            shown_same = true;
        }
        let _ = write!(s, "{:<w$}", row.behaviour);
        for c in &row.cells {
            let _ = write!(s, "{:^cw$}", c.verdict.mark());
        }
        s.push('\n');
    }
    let _ = write!(s, "\n{:<w$}", "conforms / not");
    for c in &r.counts {
        let _ = write!(
            s,
            "{:^cw$}",
            format!("{}/{}", c.pass + c.worded_differently, c.fail)
        );
    }
    let legend: Vec<String> = TALLIES
        .iter()
        .map(|(v, _, _)| format!("{} {}", v.mark(), v.word()))
        .collect();
    let _ = writeln!(s, "\n\n{}. {}", differ_line(r), legend.join("  "));
    for row in r.rows.iter().filter(|x| x.differs) {
        for (c, cell) in r.columns.iter().zip(&row.cells) {
            if matches!(
                cell.verdict,
                Verdict::Fail | Verdict::CouldNotCheck | Verdict::WordedDifferently
            ) {
                let _ = writeln!(
                    s,
                    "  {} on {}: {} — {}",
                    row.behaviour,
                    c.target,
                    cell.verdict.word(),
                    why(cell).unwrap_or_default()
                );
            }
        }
    }
    for c in r.columns.iter().filter(|c| c.error.is_some()) {
        let _ = writeln!(
            s,
            "  {} could not run: {}",
            c.target,
            c.error.as_deref().unwrap_or("")
        );
    }
    s
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The matrix in Markdown.
pub fn markdown(r: &MatrixReport) -> String {
    let mut s = String::from("# podcheck conformance matrix\n\n");
    let _ = write!(s, "| |");
    for c in &r.columns {
        let _ = write!(s, " {} |", md_escape(&c.target));
    }
    let _ = write!(s, "\n|---|");
    for _ in &r.columns {
        s.push_str("---|");
    }
    s.push('\n');
    for (name, values) in fact_rows(r) {
        let _ = write!(s, "| *{name}* |");
        for v in values {
            let _ = write!(s, " {} |", md_escape(&v));
        }
        s.push('\n');
    }
    for row in &r.rows {
        let name = if row.differs {
            format!("**{}**", row.behaviour)
        } else {
            row.behaviour.clone()
        };
        let _ = write!(s, "| {name} |");
        for c in &row.cells {
            let why = why(c).map_or(String::new(), |w| format!(": {}", md_escape(&w)));
            let _ = write!(s, " {} {}{} |", c.verdict.mark(), c.verdict.word(), why);
        }
        s.push('\n');
    }
    let _ = write!(s, "| *conform / not* |");
    for c in &r.counts {
        let _ = write!(s, " {} / {} |", c.pass + c.worded_differently, c.fail);
    }
    let _ = writeln!(s, "\n\n{} (bold, first).", differ_line(r));
    if !r.timing.is_empty() {
        let _ = write!(
            s,
            "\n## Probe and lifecycle timing (seconds, median)\n\n| figure |"
        );
        for c in &r.columns {
            let _ = write!(s, " {} |", md_escape(&c.target));
        }
        let _ = write!(s, "\n|---|");
        for _ in &r.columns {
            s.push_str("---|");
        }
        s.push('\n');
        for t in &r.timing {
            let _ = write!(s, "| {} |", t.metric);
            for v in &t.values {
                let _ = write!(s, " {} |", v.map_or("—".into(), |x| format!("{x:.2}")));
            }
            s.push('\n');
        }
    }
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}\
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}\
th{background:#f4f4f4}td.pass{background:#e6f4e6}td.fail{background:#fbe3e3}td.could-not-check{background:#fff1cc}\
td.worded-differently{background:#e6f4e6;outline:2px dashed #7a7;outline-offset:-3px}td.flaky{background:#fff1cc;outline:2px dotted #c90;outline-offset:-3px}td.checked-in-part{background:#eef3e0}\
td.not-applicable,td.not-selected{color:#999}td.could-not-run{background:#eee;color:#666}tr.differs th{border-left:4px solid #c33}\
.why{display:block;font-size:12px;color:#555;max-width:28em}.bar{display:inline-block;height:10px;background:#58a;margin-right:6px}\
.facts td{font-size:12px}";

/// The matrix as one HTML page, with nothing to fetch.
pub fn html(r: &MatrixReport) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>podcheck conformance matrix</title><style>{STYLE}</style></head><body>\n<h1>podcheck conformance matrix</h1>\n<p id=\"summary\" data-differences=\"{}\">{}; rows that differ come first.</p>\n",
        r.differences(),
        esc(&differ_line(r))
    );
    s.push_str("<table id=\"matrix\"><thead><tr><th>behaviour</th>");
    for c in &r.columns {
        let _ = write!(
            s,
            "<th data-target=\"{}\" title=\"{}\">{}</th>",
            esc(&c.target),
            esc(&c.description),
            esc(&c.target)
        );
    }
    s.push_str("</tr>");
    for (name, values) in fact_rows(r) {
        let _ = write!(s, "<tr class=\"facts\"><th>{}</th>", esc(name));
        for v in values {
            let _ = write!(s, "<td>{}</td>", esc(&v));
        }
        s.push_str("</tr>");
    }
    s.push_str("</thead><tbody>\n");
    for row in &r.rows {
        let _ = write!(
            s,
            "<tr class=\"{}\"><th title=\"{}\">{}</th>",
            if row.differs { "differs" } else { "same" },
            esc(&row.text),
            esc(&row.behaviour)
        );
        for (c, cell) in r.columns.iter().zip(&row.cells) {
            let class = serde_json::to_value(cell.verdict)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let _ = write!(
                s,
                "<td class=\"cell {class}\" data-behaviour=\"{}\" data-target=\"{}\" data-verdict=\"{class}\">{} {}",
                esc(&row.behaviour),
                esc(&c.target),
                cell.verdict.mark(),
                cell.verdict.word()
            );
            if let Some(w) = why(cell) {
                let _ = write!(s, "<span class=\"why\">{}</span>", esc(&w));
            }
            s.push_str("</td>");
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody><tfoot>");
    for (verdict, key, get) in TALLIES {
        let _ = write!(s, "<tr><th>{}</th>", verdict.word());
        for (c, n) in r.columns.iter().zip(&r.counts) {
            let _ = write!(
                s,
                "<td class=\"count\" data-target=\"{}\" data-count=\"{key}\" data-value=\"{}\">{}</td>",
                esc(&c.target),
                get(n),
                get(n)
            );
        }
        s.push_str("</tr>");
    }
    s.push_str("</tfoot></table>\n");
    if !r.timing.is_empty() {
        let max = r
            .timing
            .iter()
            .flat_map(|t| t.values.iter().flatten())
            .fold(0.0f64, |a, b| a.max(*b))
            .max(0.001);
        s.push_str("<h2>Probe and lifecycle timing</h2><p>Seconds, median over the cases that measured them.</p><table id=\"timing\"><thead><tr><th>figure</th>");
        for c in &r.columns {
            let _ = write!(s, "<th>{}</th>", esc(&c.target));
        }
        s.push_str("</tr></thead><tbody>");
        for t in &r.timing {
            let _ = write!(s, "<tr><th>{}</th>", esc(&t.metric));
            for v in &t.values {
                match v {
                    Some(x) => {
                        let _ = write!(
                            s,
                            "<td data-metric=\"{}\" data-value=\"{x:.3}\"><span class=\"bar\" style=\"width:{:.0}px\"></span>{x:.2}</td>",
                            esc(&t.metric),
                            (x.max(0.0) / max * 160.0)
                        );
                    }
                    None => s.push_str("<td>—</td>"),
                }
            }
            s.push_str("</tr>");
        }
        s.push_str("</tbody></table>\n");
    }
    for c in r.columns.iter().filter(|c| c.error.is_some()) {
        let _ = writeln!(
            s,
            "<p class=\"could-not-run\"><b>{}</b> could not run: {}</p>",
            esc(&c.target),
            esc(c.error.as_deref().unwrap_or(""))
        );
    }
    s.push_str("</body></html>\n");
    s
}
