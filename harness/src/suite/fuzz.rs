//! The loader under attack: every suite, mutant and sabotage file of the repository, mutated
//! at random (lines dropped, doubled, swapped, re-indented, cut short; words replaced with
//! keys, values and YAML punctuation; characters inserted), and wholly generated documents.
//! For every input the loader must not panic, and every error must name `file:line:column`
//! (a line of at least 1). `PODCHECK_FUZZ_CASES` sets how many inputs (default 10,000); the
//! count and the time are printed.

use std::path::{Path, PathBuf};
use std::time::Instant;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use super::catalogue::Catalogue;
use super::loader::{load_catalogue, parse_suite};

/// Words a mutation drops in: the schema's own keys, values of the right and wrong kinds,
/// placeholders, and YAML syntax.
const TOKENS: &[&str] = &[
    "suite:",
    "cases:",
    "- name:",
    "covers:",
    "steps:",
    "timeout:",
    "expect_failure:",
    "step:",
    "message:",
    "apply:",
    "wait:",
    "assert:",
    "error:",
    "logs:",
    "exec:",
    "kubectl:",
    "events:",
    "probe:",
    "endpoints:",
    "sleep:",
    "describe:",
    "create:",
    "delete:",
    "pod:",
    "object:",
    "expr:",
    "match:",
    "condition:",
    "during:",
    "by_version:",
    "first:",
    "between:",
    "contains:",
    "regex:",
    "equals:",
    "{",
    "}",
    "[",
    "]",
    "- ",
    ": ",
    "'",
    "\"",
    "|",
    ">-",
    "&a",
    "*a",
    "!!str",
    "${",
    "${namespace}",
    "${image.nope}",
    "${file:x}",
    "$${",
    "0",
    "-1",
    "3s",
    "1m",
    "99999999999999999999",
    "true",
    "null",
    "~",
    "Ready=Maybe",
    "status.containerStatus[0]",
    "((",
    "\t",
    "#",
    "\u{feff}",
    "LIVENESS-HTTP",
    "NOPE",
    "pod/kuard",
    "x/y/z",
    ">=1.35",
    "<<",
    "?",
    "%",
    "@",
];

#[derive(Clone, Debug)]
enum Edit {
    DropLine(usize),
    DoubleLine(usize),
    SwapLines(usize, usize),
    Indent(usize, bool),
    Truncate(usize),
    Replace(usize, usize, usize),
    InsertChar(usize, char),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<usize>().prop_map(Edit::DropLine),
        any::<usize>().prop_map(Edit::DoubleLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        (any::<usize>(), any::<bool>()).prop_map(|(a, b)| Edit::Indent(a, b)),
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), any::<usize>(), 0..TOKENS.len())
            .prop_map(|(l, w, t)| Edit::Replace(l, w, t)),
        (any::<usize>(), any::<char>()).prop_map(|(p, c)| Edit::InsertChar(p, c)),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for e in edits {
        if lines.is_empty() {
            lines.push(String::new());
        }
        let n = lines.len();
        match *e {
            Edit::DropLine(i) => {
                lines.remove(i % n);
            }
            Edit::DoubleLine(i) => {
                let l = lines[i % n].clone();
                lines.insert(i % n, l);
            }
            Edit::SwapLines(a, b) => lines.swap(a % n, b % n),
            Edit::Indent(i, deeper) => {
                let l = &mut lines[i % n];
                if deeper {
                    l.insert_str(0, "  ");
                } else if l.starts_with("  ") {
                    l.replace_range(..2, "");
                }
            }
            Edit::Truncate(i) => {
                let keep = i % n;
                lines.truncate(keep.max(1));
            }
            Edit::Replace(i, w, t) => {
                let l = &lines[i % n];
                let mut words: Vec<&str> = l.split(' ').collect();
                let k = w % words.len();
                words[k] = TOKENS[t];
                lines[i % n] = words.join(" ");
            }
            Edit::InsertChar(p, c) => {
                let l = &mut lines[p % n];
                let mut at = (p / n.max(1)) % (l.len() + 1);
                while !l.is_char_boundary(at) {
                    at -= 1;
                }
                l.insert(at, c);
            }
        }
    }
    lines.join("\n") + "\n"
}

/// The repository's YAML files the loader reads (suites; mutant and sabotage files are
/// suites' cousins and stress the same fields).
fn corpus() -> Vec<(PathBuf, String)> {
    let root = crate::paths::repo_root();
    let mut out = Vec::new();
    for dir in [
        "suites",
        "fixtures/mutants",
        "fixtures/sabotage",
        "harness/tests/selftest",
    ] {
        let Ok(rd) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "yaml")
                && let Ok(t) = std::fs::read_to_string(&p)
            {
                out.push((p, t));
            }
        }
    }
    out.sort();
    out
}

/// Whether every error of parsing `text` as the suite file `path` names its place.
fn errors_are_placed(path: &Path, text: &str, cat: &Catalogue) -> Result<(), String> {
    let Err(errors) = parse_suite(path, text, cat) else {
        return Ok(());
    };
    for e in errors {
        let shown = e.to_string();
        let prefix = format!("{}:", path.display());
        let placed = e.line >= 1 && e.column >= 1 && shown.starts_with(&prefix);
        if !placed {
            return Err(format!(
                "an error without file:line:column: {shown:?}\n--- input ---\n{text}"
            ));
        }
    }
    Ok(())
}

#[test]
fn ten_thousand_mutated_and_generated_suites_never_panic_and_always_say_where() {
    let cases: u32 = crate::config::FUZZ_CASES
        .parse()
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or(10_000);
    let cat = load_catalogue(&crate::paths::suites_dir().join("behaviours.yaml")).unwrap();
    let corpus = corpus();
    assert!(
        corpus.len() >= 10,
        "the corpus is the repository's files: {}",
        corpus.len()
    );
    let started = Instant::now();
    let mut runner = TestRunner::new(Config {
        cases: cases * 9 / 10,
        failure_persistence: None,
        ..Config::default()
    });
    let mutated = (0..corpus.len(), proptest::collection::vec(edit(), 1..6));
    runner
        .run(&mutated, |(i, edits)| {
            let (path, text) = &corpus[i];
            let input = apply(text, &edits);
            errors_are_placed(path, &input, &cat).map_err(TestCaseError::fail)
        })
        .unwrap();
    // Wholly generated documents: a few lines of tokens, nested at random.
    let mut runner = TestRunner::new(Config {
        cases: cases / 10,
        failure_persistence: None,
        ..Config::default()
    });
    let lines = proptest::collection::vec(
        (0usize..4, proptest::collection::vec(0..TOKENS.len(), 1..5)),
        1..20,
    );
    runner
        .run(&lines, |lines| {
            let text: String = lines
                .iter()
                .map(|(indent, toks)| {
                    let words: Vec<&str> = toks.iter().map(|t| TOKENS[*t]).collect();
                    format!("{}{}\n", "  ".repeat(*indent), words.join(" "))
                })
                .collect();
            errors_are_placed(Path::new("generated.yaml"), &text, &cat).map_err(TestCaseError::fail)
        })
        .unwrap();
    eprintln!(
        "fuzz: {cases} suite files ({} mutated from {} of the repository's, {} generated) in {:.1}s: no panic, every error at file:line:column",
        cases * 9 / 10,
        corpus.len(),
        cases / 10,
        started.elapsed().as_secs_f64()
    );
}
