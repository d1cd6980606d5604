//! Step 4 of the flow: assemble node documents into a tree with absolute
//! paths (`/`, `/a`, `/a/b`), parents before children, siblings by name.

use std::collections::HashSet;

use crate::metadata::{Attributes, NodeDoc, NodeKind};

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Absolute path; the root is `/`.
    pub path: String,
    pub attributes: Attributes,
    pub kind: NodeKind,
    /// A group that has no metadata of its own, implied by its descendants.
    pub implicit: bool,
}

impl Node {
    /// The last path segment; `/` for the root.
    pub fn name(&self) -> &str {
        if self.path == "/" {
            "/"
        } else {
            self.path.rsplit('/').next().unwrap_or(&self.path)
        }
    }

    pub fn is_array(&self) -> bool {
        !matches!(self.kind, NodeKind::Group)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hierarchy {
    /// The URL asked for (normalised).
    pub url: String,
    /// The store root whose metadata was read (differs from `url` when the
    /// URL points inside a store).
    pub root_url: String,
    /// Absolute path of the shown node inside that store; `/` for the root.
    pub base: String,
    pub zarr_format: u8,
    /// Read from consolidated metadata.
    pub consolidated: bool,
    /// Read node by node (a crawl), not from consolidated metadata.
    pub crawled: bool,
    /// False when a crawl stopped early (request cap): nodes may be missing.
    pub complete: bool,
    /// Pre-order: every node after its parent, siblings sorted by name.
    pub nodes: Vec<Node>,
    children: Vec<Vec<usize>>,
    /// What the metadata was read from when that is not a Zarr store
    /// ("kerchunk reference set (JSON, spec version 1)").
    pub source: Option<String>,
    pub warnings: Vec<String>,
}

fn absolute(relative: &str) -> String {
    format!("/{relative}")
}

/// Segment-wise order of absolute paths: parents before children, siblings
/// by name. Comparing bytes with `/` ranked below every other byte gives
/// exactly that (names hold no NUL), without splitting.
fn tree_order(a: &str, b: &str) -> std::cmp::Ordering {
    let rank = |c: u8| if c == b'/' { 0 } else { c };
    match a.bytes().zip(b.bytes()).find(|(x, y)| x != y) {
        Some((x, y)) => rank(x).cmp(&rank(y)),
        None => a.len().cmp(&b.len()),
    }
}

impl Hierarchy {
    pub fn new(
        url: impl Into<String>,
        zarr_format: u8,
        consolidated: bool,
        docs: Vec<NodeDoc>,
        mut warnings: Vec<String>,
    ) -> Self {
        let mut nodes: Vec<Node> = docs
            .into_iter()
            .map(|doc| Node {
                path: absolute(&doc.path),
                attributes: doc.attributes,
                kind: doc.kind,
                implicit: false,
            })
            .collect();
        // Readers hand over nodes sorted or nearly so: cheap to sort.
        nodes.sort_by(|a, b| tree_order(&a.path, &b.path));
        // A path given twice keeps its first node.
        nodes.dedup_by(|later, earlier| later.path == earlier.path);

        // Every ancestor must exist for the tree to hang together. Usually
        // they all do; otherwise walk up from each node until an existing
        // (or already implied) one.
        let linked = match nodes.first() {
            Some(root) if root.path == "/" => link(&nodes),
            _ => None,
        };
        let mut implied = Vec::new();
        if linked.is_none() {
            let mut known: HashSet<&str> = nodes.iter().map(|n| n.path.as_str()).collect();
            let mut missing: Vec<&str> = Vec::new();
            for node in &nodes {
                let mut path = node.path.as_str();
                while path != "/" {
                    let parent = match path.rfind('/') {
                        Some(0) | None => "/",
                        Some(i) => &path[..i],
                    };
                    if !known.insert(parent) {
                        break;
                    }
                    missing.push(parent);
                    path = parent;
                }
            }
            if nodes.is_empty() {
                missing.push("/");
            }
            implied.extend(missing.into_iter().map(str::to_string));
        }
        if !implied.is_empty() {
            nodes.extend(implied.iter().map(|path| Node {
                path: path.clone(),
                attributes: Attributes::default(),
                kind: NodeKind::Group,
                implicit: true,
            }));
            nodes.sort_by(|a, b| tree_order(&a.path, &b.path));
            implied.retain(|p| p != "/");
        }
        if !implied.is_empty() {
            implied.sort();
            let shown: Vec<_> = implied.iter().take(5).map(String::as_str).collect();
            let more = implied.len().saturating_sub(shown.len());
            warnings.push(format!(
                "{} group(s) have no metadata of their own and are implied by their contents: {}{}",
                implied.len(),
                shown.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ));
        }

        let url = url.into();
        Self {
            root_url: url.clone(),
            url,
            base: "/".into(),
            zarr_format,
            consolidated,
            crawled: false,
            complete: true,
            children: linked
                .or_else(|| link(&nodes))
                .unwrap_or_else(|| vec![Vec::new(); nodes.len()]),
            nodes,
            warnings,
            source: None,
        }
    }

    /// The subtree at `path` (relative to the store root), keeping full
    /// paths; `url` becomes the node's URL. `None` if there is no such node.
    pub fn select(self, path: &str, url: String) -> Option<Hierarchy> {
        let base = absolute(path);
        if base == "/" {
            return Some(self);
        }
        let below = format!("{base}/");
        let nodes: Vec<Node> = self
            .nodes
            .into_iter()
            .filter(|n| n.path == base || n.path.starts_with(&below))
            .collect();
        if nodes.first().is_none_or(|n| n.path != base) {
            return None;
        }
        Some(Hierarchy {
            url,
            root_url: self.root_url,
            base,
            zarr_format: self.zarr_format,
            consolidated: self.consolidated,
            crawled: self.crawled,
            complete: self.complete,
            // A subtree of a linked tree: every parent is present.
            children: link(&nodes).unwrap_or_else(|| vec![Vec::new(); nodes.len()]),
            nodes,
            warnings: self.warnings,
            source: self.source,
        })
    }

    /// Indices of the direct children of node `i`, sorted by name.
    pub fn children(&self, i: usize) -> &[usize] {
        self.children.get(i).map_or(&[], Vec::as_slice)
    }

    /// Count of all descendants of node `i`.
    pub fn descendants(&self, i: usize) -> usize {
        // Iterative: hierarchies can be deep, the stack is not.
        let mut pending: Vec<usize> = self.children(i).to_vec();
        let mut count = 0;
        while let Some(c) = pending.pop() {
            count += 1;
            pending.extend_from_slice(self.children(c));
        }
        count
    }

    pub fn arrays(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| n.is_array())
    }
}

/// Child indices of every node, `nodes` being in tree order with the top
/// node first: one pass, keeping the chain of open ancestors on a stack
/// (in tree order a node's parent is always on it). `None` when a node's
/// parent is missing.
fn link(nodes: &[Node]) -> Option<Vec<Vec<usize>>> {
    let mut children = vec![Vec::new(); nodes.len()];
    let mut open: Vec<usize> = vec![0];
    for (i, node) in nodes.iter().enumerate().skip(1) {
        let parent = match node.path.rfind('/') {
            Some(0) | None => "/",
            Some(at) => &node.path[..at],
        };
        while let Some(&top) = open.last() {
            if nodes[top].path == parent {
                break;
            }
            open.pop();
        }
        children[*open.last()?].push(i);
        open.push(i);
    }
    Some(children)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(path: &str) -> NodeDoc {
        NodeDoc {
            path: path.into(),
            attributes: Attributes::default(),
            kind: NodeKind::Group,
        }
    }

    #[test]
    fn orders_parents_first_and_siblings_by_name() {
        let h = Hierarchy::new(
            "u",
            3,
            true,
            vec![
                group("b"),
                group("a/z"),
                group(""),
                group("a"),
                group("a-c"),
                group("a/b"),
            ],
            vec![],
        );
        let paths: Vec<_> = h.nodes.iter().map(|n| n.path.as_str()).collect();
        assert_eq!(paths, ["/", "/a", "/a/b", "/a/z", "/a-c", "/b"]);
        let root_children: Vec<_> = h.children(0).iter().map(|&i| h.nodes[i].name()).collect();
        assert_eq!(root_children, ["a", "a-c", "b"]);
        assert_eq!(h.descendants(0), 5);
        assert!(h.warnings.is_empty());
    }

    #[test]
    fn missing_ancestors_are_implied_and_reported() {
        let h = Hierarchy::new("u", 2, true, vec![group("x/y/z")], vec![]);
        let paths: Vec<_> = h.nodes.iter().map(|n| n.path.as_str()).collect();
        assert_eq!(paths, ["/", "/x", "/x/y", "/x/y/z"]);
        assert!(h.nodes[0].implicit && h.nodes[1].implicit && !h.nodes[3].implicit);
        assert_eq!(h.warnings.len(), 1);
        assert!(h.warnings[0].contains("/x, /x/y"), "{}", h.warnings[0]);
    }

    #[test]
    fn a_subtree_keeps_full_paths() {
        let h = Hierarchy::new(
            "s3://b/s.zarr",
            3,
            true,
            vec![
                group(""),
                group("a"),
                group("a/b"),
                group("a/b/c"),
                group("ab"),
            ],
            vec![],
        );
        let sub = h.clone().select("a/b", "s3://b/s.zarr/a/b".into()).unwrap();
        let paths: Vec<_> = sub.nodes.iter().map(|n| n.path.as_str()).collect();
        assert_eq!(paths, ["/a/b", "/a/b/c"]);
        assert_eq!(sub.base, "/a/b");
        assert_eq!(sub.root_url, "s3://b/s.zarr");
        assert_eq!(sub.children(0), &[1]);
        assert!(h.select("nope", String::new()).is_none());
    }

    #[test]
    fn empty_input_still_has_a_root() {
        let h = Hierarchy::new("u", 2, true, vec![], vec![]);
        assert_eq!(h.nodes[0].path, "/");
        assert_eq!(h.nodes[0].name(), "/");
    }
}
