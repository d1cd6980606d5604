//! OME-Zarr (NGFF) multiscale images, recognised from group attributes:
//! 0.4 (`multiscales` in v2 `.zattrs`) and 0.5 (`ome` in v3 attributes).
//! `tree` and `show` summarise them — axes, levels with shapes and scales,
//! labels — instead of dumping the raw attributes ([`crate::render::ome`]
//! writes that text). Pure: no I/O.

use serde::Serialize;
use serde_json::Value;

use crate::hierarchy::Hierarchy;
use crate::metadata::NodeKind;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Axis {
    pub name: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Level {
    pub path: String,
    /// From the level array's metadata; `None` if the array is missing.
    pub shape: Option<Vec<u64>>,
    pub scale: Option<Vec<f64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Image {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub axes: Vec<Axis>,
    pub levels: Vec<Level>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Multiscales {
    /// NGFF version as stored (`0.4`, `0.5`, ...).
    pub version: String,
    pub images: Vec<Image>,
    /// Label images listed by a `labels` child group.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

fn string(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

fn axes(v: Option<&Value>) -> Vec<Axis> {
    v.and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|a| match a {
                    // NGFF 0.3: axes are plain names.
                    Value::String(name) => Some(Axis {
                        name: name.clone(),
                        kind: None,
                        unit: None,
                    }),
                    Value::Object(o) => Some(Axis {
                        name: o.get("name").and_then(string)?,
                        kind: o.get("type").and_then(string),
                        unit: o.get("unit").and_then(string),
                    }),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

fn scale(dataset: &Value) -> Option<Vec<f64>> {
    dataset
        .get("coordinateTransformations")?
        .as_array()?
        .iter()
        .find(|t| t.get("type").and_then(Value::as_str) == Some("scale"))?
        .get("scale")?
        .as_array()?
        .iter()
        .map(Value::as_f64)
        .collect()
}

/// The multiscale images described by group `i`'s attributes, if any.
pub fn multiscales(h: &Hierarchy, i: usize) -> Option<Multiscales> {
    let group = &h.nodes[i];
    let attrs = &group.attributes;
    // 0.5 nests everything under "ome"; 0.4 puts "multiscales" at the top.
    let (list, version) = match attrs.get("ome") {
        Some(ome) => (
            ome.get("multiscales")?.as_array()?,
            ome.get("version").and_then(string),
        ),
        None => (attrs.get("multiscales")?.as_array()?, None),
    };
    let version = version
        .or_else(|| list.first()?.get("version").and_then(string))
        .unwrap_or_else(|| "unknown".into());
    let base = if group.path == "/" {
        String::new()
    } else {
        group.path.clone()
    };
    let shape_of = |path: &str| -> Option<Vec<u64>> {
        let full = format!("{base}/{path}");
        h.nodes
            .iter()
            .find(|n| n.path == full)
            .and_then(|n| match &n.kind {
                NodeKind::Array(a) => Some(a.shape.clone()),
                _ => None,
            })
    };
    let images = list
        .iter()
        .map(|m| Image {
            name: m.get("name").and_then(string),
            axes: axes(m.get("axes")),
            levels: m
                .get("datasets")
                .and_then(Value::as_array)
                .map(|ds| {
                    ds.iter()
                        .filter_map(|d| {
                            let path = d.get("path").and_then(string)?;
                            Some(Level {
                                shape: shape_of(&path),
                                scale: scale(d),
                                path,
                            })
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect();
    // Labels: a child group "labels" listing them (0.4: `labels`, 0.5: `ome.labels`).
    let labels_path = format!("{base}/labels");
    let labels = h
        .nodes
        .iter()
        .find(|n| n.path == labels_path)
        .and_then(|n| {
            n.attributes
                .get("labels")
                .or_else(|| n.attributes.get("ome").and_then(|o| o.get("labels")))
        })
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(string).collect())
        .unwrap_or_default();
    Some(Multiscales {
        version,
        images,
        labels,
    })
}
