//! Comparing two hierarchies node by node: what `check` (consolidated vs
//! per-node metadata) and `diff` (store A vs store B) report. Pure: no I/O.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use crate::hierarchy::{Hierarchy, Node};
use crate::metadata::NodeKind;

/// A node present on one side only.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lone {
    pub path: String,
    pub kind: &'static str,
}

/// One field that differs; a side where the field is absent is `None`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub field: String,
    pub a: Option<Value>,
    pub b: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeChange {
    pub path: String,
    pub changes: Vec<FieldChange>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Comparison {
    pub only_in_a: Vec<Lone>,
    pub only_in_b: Vec<Lone>,
    pub changed: Vec<NodeChange>,
}

impl Comparison {
    pub fn is_empty(&self) -> bool {
        self.only_in_a.is_empty() && self.only_in_b.is_empty() && self.changed.is_empty()
    }
}

fn kind_name(node: &Node) -> &'static str {
    match node.kind {
        NodeKind::Group => "group",
        NodeKind::Array(_) => "array",
        NodeKind::InvalidArray { .. } => "invalid array",
    }
}

/// A node's path relative to the shown subtree, so a sub-path compares with
/// another store's root: `/a/b` under base `/a` → `/b`.
fn relative_path<'a>(h: &Hierarchy, node: &'a Node) -> std::borrow::Cow<'a, str> {
    if h.base == "/" {
        return std::borrow::Cow::Borrowed(&node.path);
    }
    match node.path.strip_prefix(&h.base) {
        Some("") => std::borrow::Cow::Borrowed("/"),
        Some(rest) => std::borrow::Cow::Owned(rest.to_string()),
        None => std::borrow::Cow::Borrowed(&node.path),
    }
}

/// The compared fields of a node, by name, as JSON.
fn fields(node: &Node) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    out.insert("kind".to_string(), json!(kind_name(node)));
    match &node.kind {
        NodeKind::Array(a) => {
            out.insert("shape".into(), json!(a.shape));
            out.insert("chunks".into(), json!(a.chunks));
            out.insert("shards".into(), json!(a.shards));
            out.insert("dtype".into(), a.dtype.clone());
            out.insert("fill_value".into(), a.fill_value.clone());
            out.insert("order".into(), json!(a.order));
            out.insert("codecs".into(), json!(a.codecs));
            out.insert("dimension_names".into(), json!(a.dimension_names));
        }
        NodeKind::InvalidArray { reason } => {
            out.insert("error".into(), json!(reason));
        }
        NodeKind::Group => {}
    }
    for (key, value) in &node.attributes {
        out.insert(format!("attributes.{key}"), value.clone());
    }
    out
}

fn node_changes(a: &Node, b: &Node) -> Vec<FieldChange> {
    let (fa, fb) = (fields(a), fields(b));
    let mut changes = Vec::new();
    for (field, va) in &fa {
        match fb.get(field) {
            Some(vb) if vb == va => {}
            vb => changes.push(FieldChange {
                field: field.clone(),
                a: Some(va.clone()),
                b: vb.cloned(),
            }),
        }
    }
    for (field, vb) in &fb {
        if !fa.contains_key(field) {
            changes.push(FieldChange {
                field: field.clone(),
                a: None,
                b: Some(vb.clone()),
            });
        }
    }
    // Structure first, attributes after, each by name.
    changes.sort_by(|x, y| {
        let rank = |f: &str| f.starts_with("attributes.");
        (rank(&x.field), &x.field).cmp(&(rank(&y.field), &y.field))
    });
    changes
}

/// Compare `a` with `b`. Groups implied only by their contents are compared
/// like any other node.
pub fn compare(a: &Hierarchy, b: &Hierarchy) -> Comparison {
    let index = |h: &'_ Hierarchy| -> BTreeMap<String, usize> {
        h.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (relative_path(h, n).into_owned(), i))
            .collect()
    };
    let (ia, ib) = (index(a), index(b));
    let mut out = Comparison::default();
    for (path, &i) in &ia {
        let na = &a.nodes[i];
        match ib.get(path) {
            None => out.only_in_a.push(Lone {
                path: path.clone(),
                kind: kind_name(na),
            }),
            Some(&j) => {
                let changes = node_changes(na, &b.nodes[j]);
                if !changes.is_empty() {
                    out.changed.push(NodeChange {
                        path: path.clone(),
                        changes,
                    });
                }
            }
        }
    }
    for (path, &j) in &ib {
        if !ia.contains_key(path) {
            out.only_in_b.push(Lone {
                path: path.clone(),
                kind: kind_name(&b.nodes[j]),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::NodeDoc;
    use serde_json::Map;

    fn group(path: &str, attrs: &[(&str, Value)]) -> NodeDoc {
        NodeDoc {
            path: path.into(),
            attributes: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect::<Map<_, _>>()
                .into(),
            kind: NodeKind::Group,
        }
    }

    #[test]
    fn added_removed_and_changed_attributes() {
        let a = Hierarchy::new(
            "a",
            2,
            true,
            vec![
                group("", &[("title", json!("x"))]),
                group("gone", &[]),
                group("same", &[("k", json!(1))]),
            ],
            vec![],
        );
        let b = Hierarchy::new(
            "b",
            2,
            true,
            vec![
                group("", &[("title", json!("y")), ("new", json!(true))]),
                group("same", &[("k", json!(1))]),
                group("fresh", &[]),
            ],
            vec![],
        );
        let c = compare(&a, &b);
        assert_eq!(
            c.only_in_a,
            vec![Lone {
                path: "/gone".into(),
                kind: "group"
            }]
        );
        assert_eq!(
            c.only_in_b,
            vec![Lone {
                path: "/fresh".into(),
                kind: "group"
            }]
        );
        assert_eq!(c.changed.len(), 1);
        let root = &c.changed[0];
        assert_eq!(root.path, "/");
        let fields: Vec<_> = root.changes.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["attributes.new", "attributes.title"]);
        assert_eq!(root.changes[0].a, None);
        assert!(compare(&a, &a).is_empty());
    }
}
