//! Field names checked against the API schema of a kind, when a suite loads: a check whose
//! expression or partial object names a field the kind does not have (`status.containerStatus`,
//! `spec.containers[0].imagePullPolicyy`) could never see a value there. Under `assert` it
//! would fail for the wrong reason; under `error` (a negation) it would pass without having
//! checked anything. So it is a load error (exit 2) that names the field.
//!
//! The schemas are k8s-openapi's (its `schemars` feature), for the kinds podcheck knows
//! without discovery; a check on any other kind is not checked here.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use cel::Program;
use cel::common::ast::{Expr as Ast, LiteralValue};
use schemars::JsonSchema;
use serde_json::Value;

use crate::kinds;

/// The schema of one kind: its root and the definitions its `$ref`s point at.
pub struct KindSchema {
    pub kind: &'static str,
    root: Value,
    defs: serde_json::Map<String, Value>,
}

fn schema_of<K: JsonSchema>(kind: &'static str) -> KindSchema {
    let s = schemars::schema_for!(K);
    let mut v = s.to_value();
    let defs = v
        .as_object_mut()
        .and_then(|o| o.remove("$defs").or_else(|| o.remove("definitions")))
        .and_then(|d| d.as_object().cloned())
        .unwrap_or_default();
    KindSchema {
        kind,
        root: v,
        defs,
    }
}

/// The schemas of the kinds known without discovery ([`crate::kinds`]).
static SCHEMAS: LazyLock<Vec<(KindSchema, kinds::Names)>> = LazyLock::new(|| {
    struct AsSchema;
    impl kinds::Visit for AsSchema {
        type Out = (KindSchema, kinds::Names);
        fn kind<K: kinds::Known>(&self, names: kinds::Names) -> Self::Out {
            (schema_of::<K>(K::KIND), names)
        }
    }
    kinds::each(&AsSchema)
});

/// The schema of a kind as suites name it (`pod`, `svc`, `Pod`), if podcheck knows it.
pub fn for_kind(name: &str) -> Option<&'static KindSchema> {
    SCHEMAS
        .iter()
        .find(|(_, names)| names.matches(name))
        .map(|(s, _)| s)
}

/// A node of a schema, with `$ref`s followed.
#[derive(Clone, Copy)]
struct SchemaNode<'a> {
    schema: &'a KindSchema,
    value: &'a Value,
}

impl<'a> SchemaNode<'a> {
    fn resolve(schema: &'a KindSchema, mut value: &'a Value) -> SchemaNode<'a> {
        for _ in 0..32 {
            let Some(r) = value.get("$ref").and_then(Value::as_str) else {
                break;
            };
            let name = r.rsplit('/').next().unwrap_or(r);
            match schema.defs.get(name) {
                Some(v) => value = v,
                None => break,
            }
        }
        SchemaNode { schema, value }
    }

    fn properties(&self) -> Option<&'a serde_json::Map<String, Value>> {
        self.value.get("properties").and_then(Value::as_object)
    }

    fn child(&self, v: &'a Value) -> SchemaNode<'a> {
        SchemaNode::resolve(self.schema, v)
    }

    /// The field `name` of an object; `Err` with the known names when it has none.
    fn field(&self, name: &str) -> Result<Option<SchemaNode<'a>>, Vec<&'a str>> {
        if let Some(props) = self.properties() {
            return match props.get(name) {
                Some(v) => Ok(Some(self.child(v))),
                None => Err(props.keys().map(String::as_str).collect()),
            };
        }
        // A map (labels, annotations, data): any key, the values' schema.
        Ok(self.map_values())
    }

    fn map_values(&self) -> Option<SchemaNode<'a>> {
        match self.value.get("additionalProperties") {
            Some(v) if v.is_object() => Some(self.child(v)),
            _ => None,
        }
    }

    fn items(&self) -> Option<SchemaNode<'a>> {
        self.value.get("items").map(|v| self.child(v))
    }

    fn is_array(&self) -> bool {
        self.value.get("type").and_then(Value::as_str) == Some("array")
    }
}

/// What the walk found wrong, keyed by path so each is said once.
#[derive(Default)]
struct Problems(BTreeMap<String, String>);

impl Problems {
    fn unknown(&mut self, path: &str, field: &str, known: &[&str], kind: &str) {
        let hint = closest(field, known)
            .map(|c| format!(" (did you mean `{c}`?)"))
            .unwrap_or_default();
        let full = if path.is_empty() {
            field.to_string()
        } else {
            format!("{path}.{field}")
        };
        self.0.insert(
            full.clone(),
            format!("`{full}`: a {kind} has no field `{field}`{hint}"),
        );
    }
}

/// The known name nearest to a mistyped one (edit distance at most a third of its length).
fn closest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut prev = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let cur = row[j + 1];
                row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
                prev = cur;
            }
        }
        row[b.len()]
    }
    known
        .iter()
        .map(|k| (distance(name, k), *k))
        .filter(|(d, _)| *d <= name.len().max(3) / 3)
        .min()
        .map(|(_, k)| k)
}

/// Roots an expression can name: the object's own top-level fields, and the whole object.
const WHOLE_OBJECT: &[&str] = &["object", "initial"];

/// Every field name a CEL expression reads from the object, checked against the schema.
/// Returns one message per unknown field.
pub fn check_expr(schema: &KindSchema, program: &Program) -> Vec<String> {
    let mut problems = Problems::default();
    let root = SchemaNode::resolve(schema, &schema.root);
    let mut scope: Vec<(String, Option<(SchemaNode<'_>, String)>)> = Vec::new();
    walk(&program.expression().expr, root, &mut scope, &mut problems);
    problems.0.into_values().collect()
}

type Scope<'a> = Vec<(String, Option<(SchemaNode<'a>, String)>)>;

/// Walk an expression; returns the schema node (and its path) that it denotes, when it is a
/// path into the object.
fn walk<'a>(
    e: &Ast,
    root: SchemaNode<'a>,
    scope: &mut Scope<'a>,
    problems: &mut Problems,
) -> Option<(SchemaNode<'a>, String)> {
    match e {
        Ast::Ident(name) => {
            if let Some((_, bound)) = scope.iter().rev().find(|(n, _)| n == name) {
                return bound.clone();
            }
            if WHOLE_OBJECT.contains(&name.as_str()) {
                return Some((root, String::new()));
            }
            // A top-level field of the object (metadata, spec, status, ...).
            match root.field(name) {
                Ok(Some(n)) => Some((n, name.clone())),
                _ => None,
            }
        }
        Ast::Select(sel) => {
            let (node, path) = walk(&sel.operand.expr, root, scope, problems)?;
            select(node, &path, &sel.field, root.schema.kind, problems)
        }
        Ast::Call(call) => {
            let target = call
                .target
                .as_ref()
                .and_then(|t| walk(&t.expr, root, scope, problems));
            let args: Vec<Option<(SchemaNode<'a>, String)>> = call
                .args
                .iter()
                .map(|a| walk(&a.expr, root, scope, problems))
                .collect();
            if call.func_name == "_[_]" && call.args.len() == 2 {
                let (node, path) = args[0].clone()?;
                return match &call.args[1].expr {
                    Ast::Literal(LiteralValue::String(key)) => {
                        select(node, &path, key, root.schema.kind, problems)
                    }
                    _ if node.is_array() => node.items().map(|n| (n, format!("{path}[]"))),
                    _ => node.map_values().map(|n| (n, format!("{path}[]"))),
                };
            }
            let _ = target;
            None
        }
        Ast::Comprehension(c) => {
            let range = walk(&c.iter_range.expr, root, scope, problems);
            // `list.exists(x, ...)`: x is an item; `map.exists(k, ...)`: k is a key.
            let item = range.and_then(|(n, path)| {
                n.is_array()
                    .then(|| n.items().map(|i| (i, format!("{path}[]"))))
                    .flatten()
            });
            scope.push((c.iter_var.clone(), item));
            if let Some(v2) = &c.iter_var2 {
                scope.push((v2.clone(), None));
            }
            scope.push((c.accu_var.clone(), None));
            walk(&c.accu_init.expr, root, scope, problems);
            walk(&c.loop_cond.expr, root, scope, problems);
            walk(&c.loop_step.expr, root, scope, problems);
            walk(&c.result.expr, root, scope, problems);
            scope.truncate(scope.len() - 2 - usize::from(c.iter_var2.is_some()));
            None
        }
        Ast::List(l) => {
            for x in &l.elements {
                walk(&x.expr, root, scope, problems);
            }
            None
        }
        Ast::Map(m) => {
            for entry in &m.entries {
                if let cel::common::ast::EntryExpr::MapEntry(me) = &entry.expr {
                    walk(&me.key.expr, root, scope, problems);
                    walk(&me.value.expr, root, scope, problems);
                }
            }
            None
        }
        _ => None,
    }
}

fn select<'a>(
    node: SchemaNode<'a>,
    path: &str,
    field: &str,
    kind: &str,
    problems: &mut Problems,
) -> Option<(SchemaNode<'a>, String)> {
    let full = if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    };
    match node.field(field) {
        Ok(n) => n.map(|n| (n, full)),
        Err(known) => {
            problems.unknown(path, field, &known, kind);
            None
        }
    }
}

/// Every field name of a partial object (`match:`), checked against the schema.
pub fn check_partial(schema: &KindSchema, partial: &Value) -> Vec<String> {
    let mut problems = Problems::default();
    let root = SchemaNode::resolve(schema, &schema.root);
    partial_walk(partial, root, "", schema.kind, &mut problems);
    problems.0.into_values().collect()
}

fn partial_walk(v: &Value, node: SchemaNode<'_>, path: &str, kind: &str, problems: &mut Problems) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                if let Some((n, p)) = select(node, path, k, kind, problems) {
                    partial_walk(child, n, &p, kind, problems);
                }
            }
        }
        Value::Array(items) if node.is_array() => {
            if let Some(item) = node.items() {
                for x in items {
                    partial_walk(x, item, &format!("{path}[]"), kind, problems);
                }
            }
        }
        _ => {}
    }
}

/// The names of all top-level fields of a kind, for messages and tests.
pub fn top_level_fields(schema: &KindSchema) -> BTreeSet<String> {
    SchemaNode::resolve(schema, &schema.root)
        .properties()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(src: &str) -> Vec<String> {
        check_expr(for_kind("pod").unwrap(), &Program::compile(src).unwrap())
    }

    #[test]
    fn the_expressions_suites_write_name_real_fields() {
        for src in [
            "status.containerStatuses[0].restartCount >= 1",
            "has(status.containerStatuses[0].state.running)",
            "status.conditions.exists(c, c.type == 'Ready' && timestamp(c.lastTransitionTime) > timestamp(metadata.creationTimestamp))",
            "'kubectl.kubernetes.io/last-applied-configuration' in metadata.annotations",
            "metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'].contains('x')",
            "metadata.uid == initial.metadata.uid && object.spec.nodeName != ''",
            "size(spec.containers) == 2 && spec.containers.all(c, c.image != '')",
            "metadata.labels.app == 'kuard'",
        ] {
            assert_eq!(problems(src), Vec::<String>::new(), "{src}");
        }
    }

    #[test]
    fn a_mistyped_field_is_named_with_a_suggestion() {
        assert_eq!(
            problems("status.containerStatus[0].restartCount >= 1"),
            vec![
                "`status.containerStatus`: a Pod has no field `containerStatus` (did you mean `containerStatuses`?)"
            ]
        );
        assert_eq!(
            problems("status.conditions.exists(c, c.typ == 'Ready')"),
            vec!["`status.conditions[].typ`: a Pod has no field `typ` (did you mean `type`?)"]
        );
        assert_eq!(
            problems("has(initial.status.containerStatuses[0].stat.running)"),
            vec![
                "`status.containerStatuses[].stat`: a Pod has no field `stat` (did you mean `state`?)"
            ]
        );
        let p = check_partial(
            for_kind("Pod").unwrap(),
            &serde_json::json!({"spec": {"containers": [{"name": "kuard", "imag": "x"}]}}),
        );
        assert_eq!(
            p,
            vec!["`spec.containers[].imag`: a Pod has no field `imag` (did you mean `image`?)"]
        );
        assert!(top_level_fields(for_kind("svc").unwrap()).contains("spec"));
    }
}
