//! Partial object matching, as kuttl and chainsaw do it:
//! - a map matches when every key of the expected map is present and matches (extra keys in
//!   the object are fine);
//! - a list matches when every expected item is matched by a distinct item of the actual list,
//!   in any order; an expected item that is a map is itself a predicate (a partial match), so
//!   `conditions: [{type: Ready, status: "True"}]` finds the Ready condition wherever it is;
//! - scalars match when equal; a string and a number or bool match when their text is equal
//!   (`"8080"` and `8080`, `True` and `"True"`), because YAML makes that distinction easy to
//!   get wrong and the API object says which it is anyway;
//! - `null` matches an absent key or a null.

use serde_json::Value;

use super::mismatch::Mismatch;

/// Check that `actual` contains `expected`. The error names the path of the first mismatch.
pub fn partial_match(expected: &Value, actual: &Value) -> Result<(), Mismatch> {
    walk(expected, Some(actual), "")
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn show(v: Option<&Value>) -> String {
    match v {
        None => "(absent)".into(),
        Some(v) => {
            let s = serde_json::to_string(v).unwrap_or_default();
            if s.len() > 600 {
                format!("{}… ({} bytes)", super::text::cut(&s, 600), s.len())
            } else {
                s
            }
        }
    }
}

fn mismatch(path: &str, expected: &Value, actual: Option<&Value>, why: &str) -> Mismatch {
    let at = if path.is_empty() {
        "the object".to_string()
    } else {
        format!("`{path}`")
    };
    Mismatch::new(format!("{at} {why}"), show(Some(expected)), show(actual))
}

fn scalar_eq(e: &Value, a: &Value) -> bool {
    if e == a {
        return true;
    }
    match (e, a) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(s), Value::Number(_) | Value::Bool(_)) => {
            let text = a.to_string();
            *s == text
        }
        (Value::Number(_) | Value::Bool(_), Value::String(s)) => {
            let text = e.to_string();
            *s == text
        }
        _ => false,
    }
}

fn walk(expected: &Value, actual: Option<&Value>, path: &str) -> Result<(), Mismatch> {
    match (expected, actual) {
        (Value::Null, None | Some(Value::Null)) => Ok(()),
        (_, None) => Err(mismatch(path, expected, None, "is missing")),
        (Value::Object(em), Some(Value::Object(am))) => {
            for (k, ev) in em {
                walk(ev, am.get(k), &join(path, k))?;
            }
            Ok(())
        }
        (Value::Array(el), Some(Value::Array(al))) => {
            let mut used = vec![false; al.len()];
            for (i, ev) in el.iter().enumerate() {
                let found = al
                    .iter()
                    .enumerate()
                    .find(|(j, av)| !used[*j] && walk(ev, Some(av), "").is_ok());
                match found {
                    Some((j, _)) => used[j] = true,
                    None => {
                        // Name the nearest candidate's mismatch when the item is a map with a
                        // distinguishing `type`/`name`: that is the usual intent.
                        let hint = key_of(ev).and_then(|(k, v)| {
                            al.iter()
                                .find(|av| av.get(k) == Some(v))
                                .map(|av| (k, v, av))
                        });
                        if let Some((k, v, av)) = hint {
                            let p = format!("{path}[{k}={}]", v.as_str().unwrap_or(&v.to_string()));
                            return walk(ev, Some(av), &p);
                        }
                        return Err(mismatch(
                            &format!("{path}[{i}]"),
                            ev,
                            actual,
                            "has no matching item in the list",
                        ));
                    }
                }
            }
            Ok(())
        }
        (Value::Object(_) | Value::Array(_), Some(a)) => {
            Err(mismatch(path, expected, Some(a), "has another type"))
        }
        (e, Some(a)) => {
            if scalar_eq(e, a) {
                Ok(())
            } else {
                Err(mismatch(path, e, Some(a), "differs"))
            }
        }
    }
}

/// The identifying key of a list item, if it has one of the usual ones.
fn key_of(v: &Value) -> Option<(&'static str, &Value)> {
    ["type", "name", "containerPort", "key"]
        .into_iter()
        .find_map(|k| v.get(k).map(|x| (k, x)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Value {
        json!({
            "metadata": {"name": "kuard", "labels": {"app": "kuard", "tier": "web"}},
            "spec": {"containers": [{"name": "kuard", "ports": [{"containerPort": 8080, "protocol": "TCP"}]}]},
            "status": {
                "phase": "Running",
                "conditions": [
                    {"type": "PodScheduled", "status": "True"},
                    {"type": "Ready", "status": "False", "reason": "ContainersNotReady"}
                ],
                "containerStatuses": [{"name": "kuard", "restartCount": 0, "ready": false}]
            }
        })
    }

    #[test]
    fn maps_are_subsets() {
        partial_match(&json!({"metadata": {"labels": {"app": "kuard"}}}), &pod()).unwrap();
    }

    #[test]
    fn list_items_are_found_by_predicate_in_any_order() {
        partial_match(
            &json!({"status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "PodScheduled"}]}}),
            &pod(),
        )
        .unwrap();
    }

    #[test]
    fn a_wrong_condition_names_its_path_expected_and_actual() {
        let e = partial_match(
            &json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
            &pod(),
        )
        .unwrap_err();
        assert_eq!(e.summary, "`status.conditions[type=Ready].status` differs");
        assert_eq!(e.expected, "\"True\"");
        assert_eq!(e.actual, "\"False\"");
    }

    #[test]
    fn scalars_compare_by_text_across_yaml_types() {
        partial_match(
            &json!({"spec": {"containers": [{"ports": [{"containerPort": "8080"}]}]}}),
            &pod(),
        )
        .unwrap();
        partial_match(
            &json!({"status": {"containerStatuses": [{"ready": "false"}]}}),
            &pod(),
        )
        .unwrap();
    }

    #[test]
    fn missing_keys_and_null() {
        let e = partial_match(&json!({"status": {"podIP": "10.0.0.1"}}), &pod()).unwrap_err();
        assert_eq!(e.summary, "`status.podIP` is missing");
        assert_eq!(e.actual, "(absent)");
        partial_match(&json!({"status": {"podIP": null}}), &pod()).unwrap();
    }

    #[test]
    fn items_are_used_once() {
        let e =
            partial_match(&json!([{"a": 1}, {"a": 1}]), &json!([{"a": 1, "b": 2}])).unwrap_err();
        assert_eq!(e.summary, "`[1]` has no matching item in the list");
    }

    #[test]
    fn type_differences() {
        let e = partial_match(&json!({"spec": {"containers": {"name": "x"}}}), &pod()).unwrap_err();
        assert_eq!(e.summary, "`spec.containers` has another type");
    }
}
