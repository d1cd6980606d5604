//! Text of OME-Zarr multiscale images ([`crate::ome`] finds them): one
//! line for `tree`, a block for `show`.

use super::text::{count_text, shape_text};
use crate::ome::{Axis, Multiscales};

fn axis_text(a: &Axis) -> String {
    match (&a.kind, &a.unit) {
        (Some(k), Some(u)) => format!("{}({k}, {u})", a.name),
        (Some(k), None) => format!("{}({k})", a.name),
        (None, Some(u)) => format!("{}({u})", a.name),
        (None, None) => a.name.clone(),
    }
}

/// One line for `tree`: `OME-Zarr 0.4 multiscale image "x": 3 levels, axes t,c,z,y,x`.
pub fn summary(m: &Multiscales) -> String {
    let images: Vec<String> = m
        .images
        .iter()
        .map(|img| {
            let name = img
                .name
                .as_ref()
                .map_or(String::new(), |n| format!(" {n:?}"));
            let axes: Vec<&str> = img.axes.iter().map(|a| a.name.as_str()).collect();
            format!(
                "image{name}: {}, axes {}",
                count_text(img.levels.len(), "level"),
                axes.join(",")
            )
        })
        .collect();
    let mut text = format!("OME-Zarr {} multiscale {}", m.version, images.join("; "));
    if !m.labels.is_empty() {
        text.push_str(&format!("; labels: {}", m.labels.join(", ")));
    }
    text
}

/// Lines for `show`: axes, then one line per level.
pub fn details(m: &Multiscales) -> Vec<String> {
    let mut lines = Vec::new();
    for img in &m.images {
        let name = img.name.as_deref().unwrap_or("(unnamed)");
        lines.push(format!("image {name} (OME-Zarr {})", m.version));
        let axes: Vec<String> = img.axes.iter().map(axis_text).collect();
        lines.push(format!("  axes: {}", axes.join(", ")));
        for level in &img.levels {
            let shape = level
                .shape
                .as_ref()
                .map_or("(missing array)".to_string(), |s| shape_text(s));
            let scale = level.scale.as_ref().map_or(String::new(), |s| {
                let parts: Vec<String> = s.iter().map(|x| format!("{x}")).collect();
                format!("  scale [{}]", parts.join(", "))
            });
            lines.push(format!("  level {}: {shape}{scale}", level.path));
        }
    }
    if !m.labels.is_empty() {
        lines.push(format!("labels: {}", m.labels.join(", ")));
    }
    lines
}
