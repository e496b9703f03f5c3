//! Parsing `kubectl describe` output into a tree, so fields can be found by path and compared
//! with the API object.
//!
//! The format (kubectl's `describe` printers through a tabwriter):
//! - `Key:   value` lines; nesting by indentation (two spaces per level);
//! - multi-valued fields continue on lines indented to the value column (Labels,
//!   Annotations, Tolerations);
//! - tables under a key: a header row, an optional `----` row, then rows, all at one indent
//!   (Conditions, Events); cells are cut at the header's column positions, because messages
//!   contain spaces and colons;
//! - other lines under a key are items (Mounts).
//!
//! Paths are key names joined by `.` (`Containers.kuard.Restart Count`); a `*` in a segment
//! is a wildcard (`Volumes.kube-api-access-*`); in a table, a segment selects the row that
//! has a cell equal to it (`Conditions.Ready`, `Events.Scheduled`).

/// One node of the tree: its value (first line and continuation lines), its children in
/// order, its item lines and its table.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Node {
    pub value: Vec<String>,
    pub children: Vec<(String, Node)>,
    pub items: Vec<String>,
    pub table: Option<Table>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// The cell of `row` under the column named `col`.
    pub fn cell<'a>(&self, row: &'a [String], col: &str) -> Option<&'a str> {
        let i = self.header.iter().position(|h| h == col)?;
        row.get(i).map(String::as_str)
    }
}

/// What a path finds.
#[derive(Clone, Debug, PartialEq)]
pub enum Found<'a> {
    Node(&'a Node),
    Row(&'a Table, &'a [String], usize),
}

impl Found<'_> {
    /// The text of what was found: a node's value lines (or its items when it has no value),
    /// or a row's cells other than the one that selected it.
    pub fn text(&self) -> String {
        match self {
            Found::Node(n) => n.text(),
            Found::Row(_, cells, skip) => cells
                .iter()
                .enumerate()
                .filter(|(i, _)| i != skip)
                .map(|(_, c)| c.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

impl Node {
    pub fn text(&self) -> String {
        if self.value.is_empty() {
            self.items.join("\n")
        } else {
            self.value.join("\n")
        }
    }

    /// The first line of the value, or "".
    pub fn first(&self) -> &str {
        self.value.first().map(String::as_str).unwrap_or("")
    }

    pub fn child(&self, key: &str) -> Option<&Node> {
        self.children.iter().find(|(k, _)| k == key).map(|(_, n)| n)
    }

    /// All children named `key` (IPs has one `IP` child per address).
    pub fn all(&self, key: &str) -> impl Iterator<Item = &Node> {
        self.children
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, n)| n)
    }

    /// The value of a child, if present.
    pub fn value_of(&self, key: &str) -> Option<String> {
        self.child(key).map(Node::text)
    }

    /// Find a path (see the module doc).
    pub fn find(&self, path: &str) -> Option<Found<'_>> {
        let mut node = self;
        let segs: Vec<&str> = path.split('.').collect();
        for (i, seg) in segs.iter().enumerate() {
            if let Some((_, n)) = node.children.iter().find(|(k, _)| glob(seg, k)) {
                node = n;
                continue;
            }
            if let Some(t) = &node.table
                && i == segs.len() - 1
            {
                for row in &t.rows {
                    if let Some(j) = row.iter().position(|c| glob(seg, c)) {
                        return Some(Found::Row(t, row, j));
                    }
                }
            }
            return None;
        }
        Some(Found::Node(node))
    }
}

/// `*` matches any run of characters.
pub fn glob(pattern: &str, s: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == s;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !s.starts_with(first)
        || !s[first.len()..].ends_with(last)
        || s.len() < first.len() + last.len()
    {
        return false;
    }
    let mut rest = &s[first.len()..s.len() - last.len()];
    for p in &parts[1..parts.len() - 1] {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    true
}

/// Split `key: value` where the key is a describe field name: no colon inside, not a path,
/// and the colon is followed by whitespace or the end of the line.
fn key_value(content: &str) -> Option<(&str, &str, usize)> {
    let i = content.find(':')?;
    let key = &content[..i];
    let after = &content[i + 1..];
    if key.is_empty()
        || key.starts_with('/')
        || key.contains("  ")
        || !(after.is_empty() || after.starts_with([' ', '\t']))
    {
        return None;
    }
    let value = after.trim_start();
    let value_off = i + 1 + (after.len() - value.len());
    Some((key, value.trim_end(), value_off))
}

/// Column starts of a table header (cells separated by two or more spaces).
fn header_columns(line: &str, indent: usize) -> Option<(Vec<String>, Vec<usize>)> {
    let mut cols = Vec::new();
    let mut names = Vec::new();
    let bytes = line.as_bytes();
    let mut i = indent;
    while i < bytes.len() {
        if bytes[i] == b' ' {
            i += 1;
            continue;
        }
        let start = i;
        // A cell ends at two spaces or the end.
        while i < bytes.len()
            && !(bytes[i] == b' ' && (i + 1 >= bytes.len() || bytes[i + 1] == b' '))
        {
            i += 1;
        }
        cols.push(start);
        names.push(line[start..i].trim().to_string());
    }
    (names.len() >= 2).then_some((names, cols))
}

fn cut_row(line: &str, cols: &[usize]) -> Vec<String> {
    let at = |p: usize| {
        line.char_indices()
            .map(|(i, _)| i)
            .find(|&i| i >= p)
            .unwrap_or(line.len())
    };
    cols.iter()
        .enumerate()
        .map(|(k, &start)| {
            let s = at(start);
            let e = cols.get(k + 1).map_or(line.len(), |&n| at(n));
            line.get(s..e.max(s)).unwrap_or("").trim().to_string()
        })
        .collect()
}

struct Arena {
    nodes: Vec<Node>,
    kids: Vec<Vec<(String, usize)>>,
}

impl Arena {
    fn add(&mut self, parent: usize, key: &str, value: &str) -> usize {
        let id = self.nodes.len();
        self.nodes.push(Node {
            value: if value.is_empty() {
                vec![]
            } else {
                vec![value.to_string()]
            },
            ..Node::default()
        });
        self.kids.push(Vec::new());
        self.kids[parent].push((key.to_string(), id));
        id
    }

    fn build(&mut self, id: usize) -> Node {
        let kids = std::mem::take(&mut self.kids[id]);
        let mut n = std::mem::take(&mut self.nodes[id]);
        n.children = kids.into_iter().map(|(k, c)| (k, self.build(c))).collect();
        n
    }
}

/// Parse the output for one or more objects (split where a new top-level `Name:` starts).
pub fn parse(text: &str) -> Vec<Node> {
    let mut blocks: Vec<Vec<&str>> = Vec::new();
    for line in text.lines() {
        if line.starts_with("Name:") || blocks.is_empty() {
            blocks.push(Vec::new());
        }
        blocks.last_mut().expect("pushed").push(line);
    }
    blocks
        .iter()
        .map(|b| parse_one(b))
        .filter(|n| !n.children.is_empty())
        .collect()
}

fn parse_one(lines: &[&str]) -> Node {
    let mut a = Arena {
        nodes: vec![Node::default()],
        kids: vec![Vec::new()],
    };
    // (indent, node id); the root sits below every indent.
    let mut stack: Vec<(isize, usize)> = vec![(-1, 0)];
    // The last key line with a value: (node, its indent, its value column).
    let mut last_kv: Option<(usize, usize, usize)> = None;
    // An open table: (node, indent, columns).
    let mut table: Option<(usize, usize, Vec<usize>)> = None;
    for raw in lines {
        let line = raw.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let content = line.trim_start();
        if let Some((id, tindent, cols)) = &table {
            if indent >= *tindent {
                if !content.chars().all(|c| c == '-' || c == ' ') {
                    let row = cut_row(line, cols);
                    a.nodes[*id]
                        .table
                        .get_or_insert_with(Table::default)
                        .rows
                        .push(row);
                }
                continue;
            }
            table = None;
        }
        if let Some((id, kindent, vcol)) = last_kv
            && indent == vcol
            && indent > kindent
        {
            a.nodes[id].value.push(content.to_string());
            continue;
        }
        while stack.last().is_some_and(|(d, _)| *d >= indent as isize) {
            stack.pop();
        }
        let parent = stack.last().map_or(0, |(_, id)| *id);
        match key_value(content) {
            Some((key, value, off)) => {
                let id = a.add(parent, key, value);
                stack.push((indent as isize, id));
                last_kv = (!value.is_empty()).then_some((id, indent, indent + off));
            }
            None => {
                last_kv = None;
                let p = &a.nodes[parent];
                let first_child =
                    a.kids[parent].is_empty() && p.items.is_empty() && p.table.is_none();
                if parent != 0
                    && first_child
                    && p.value.is_empty()
                    && let Some((names, cols)) = header_columns(line, indent)
                {
                    a.nodes[parent].table = Some(Table {
                        header: names,
                        rows: Vec::new(),
                    });
                    table = Some((parent, indent, cols));
                } else {
                    a.nodes[parent].items.push(content.to_string());
                }
            }
        }
    }
    a.build(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POD: &str = include_str!("testdata/kuard-describe.txt");

    fn doc() -> Node {
        let mut d = parse(POD);
        assert_eq!(d.len(), 1);
        d.remove(0)
    }

    #[test]
    fn top_level_fields() {
        let d = doc();
        assert_eq!(d.value_of("Name").unwrap(), "kuard");
        assert_eq!(
            d.value_of("Node").unwrap(),
            "podcheck-control-plane/172.18.0.2"
        );
        assert_eq!(
            d.value_of("Start Time").unwrap(),
            "Sat, 28 Nov 2026 05:40:12 +0000"
        );
        assert_eq!(d.value_of("QoS Class").unwrap(), "BestEffort");
        assert_eq!(d.value_of("Labels").unwrap(), "app=kuard\ntier=web");
        assert_eq!(
            d.value_of("Tolerations").unwrap(),
            "node.kubernetes.io/not-ready:NoExecute op=Exists for 300s\nnode.kubernetes.io/unreachable:NoExecute op=Exists for 300s"
        );
        assert_eq!(
            d.child("IPs").unwrap().value_of("IP").unwrap(),
            "10.244.0.5"
        );
    }

    #[test]
    fn containers_nest() {
        let d = doc();
        let c = d.find("Containers.kuard").unwrap();
        let Found::Node(c) = c else { panic!() };
        assert_eq!(c.value_of("Port").unwrap(), "8080/TCP (http)");
        assert_eq!(c.value_of("Host Port").unwrap(), "0/TCP (http)");
        assert_eq!(c.child("State").unwrap().first(), "Running");
        assert_eq!(
            c.child("State").unwrap().value_of("Started").unwrap(),
            "Sat, 28 Nov 2026 05:40:13 +0000"
        );
        assert_eq!(c.value_of("Restart Count").unwrap(), "0");
        assert_eq!(
            c.child("Mounts").unwrap().items,
            vec!["/var/run/secrets/kubernetes.io/serviceaccount from kube-api-access-7n2x4 (ro)"]
        );
        assert_eq!(
            d.find("Containers.kuard.Image ID").unwrap().text(),
            "podcheck.local/kuard@sha256:5d1c3b1e0f5c9c1c2f6a3d1c4f0e9b8a7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a"
        );
    }

    #[test]
    fn tables_and_rows() {
        let d = doc();
        let cond = d.child("Conditions").unwrap().table.as_ref().unwrap();
        assert_eq!(cond.header, vec!["Type", "Status"]);
        assert_eq!(cond.rows.len(), 5);
        assert_eq!(d.find("Conditions.Ready").unwrap().text(), "True");
        let ev = d.child("Events").unwrap().table.as_ref().unwrap();
        assert_eq!(ev.header, vec!["Type", "Reason", "Age", "From", "Message"]);
        let row = ev.rows.iter().find(|r| r[1] == "Unhealthy").unwrap();
        assert_eq!(
            ev.cell(row, "Message"),
            Some("Liveness probe failed: HTTP probe failed with statuscode: 500")
        );
        assert_eq!(ev.cell(row, "Age"), Some("5s (x3 over 25s)"));
        assert!(d.find("Events.Scheduled").is_some());
    }

    #[test]
    fn volumes_by_glob() {
        let d = doc();
        let v = d
            .find("Volumes.kube-api-access-*.TokenExpirationSeconds")
            .unwrap();
        assert_eq!(v.text(), "3607");
        assert!(d.find("Volumes.nothing-*").is_none());
        assert!(glob("a*c*e", "abcde") && !glob("a*c", "ab") && glob("*", ""));
    }

    #[test]
    fn several_objects_split_at_name() {
        let two = format!("{POD}\n\n{POD}");
        assert_eq!(parse(&two).len(), 2);
        assert!(parse("No resources found in default namespace.\n").is_empty());
    }
}
