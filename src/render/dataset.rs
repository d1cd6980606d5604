//! Human text for `show`: the dataset view of a group (laid out like
//! xarray's repr) and the detail of an array (like zarr's `.info`).

use std::io;

use serde_json::Value;

use super::text::{count_text, shape_text, size_or, size_text, truncate};
use crate::cf;
use crate::dataset::{ArrayDetail, Dataset, Variable, is_index};

fn size(bytes: Option<u128>) -> String {
    size_or(bytes, "?")
}

/// The stored type, and what xarray decodes it to when CF decoding changes
/// it (`int16 → float32`).
fn dtype_text(v: &Variable) -> String {
    match (&v.cf.decoded_dtype, &v.cf.decoding) {
        (Some(decoded), Some(_)) if *decoded != v.dtype => format!("{} → {decoded}", v.dtype),
        _ => v.dtype.clone(),
    }
}

fn chunks_text(v: &Variable) -> String {
    let Some(chunks) = &v.chunks else {
        return "chunks ?".into();
    };
    let mut text = format!("chunks {}", shape_text(chunks));
    if let Some(n) = v.nchunks.filter(|&n| n > 1) {
        text.push_str(&format!(" ×{n}"));
    }
    if let Some(shards) = &v.shards {
        text.push_str(&format!(" in shards {}", shape_text(shards)));
        if let Some(n) = v.nshards {
            text.push_str(&format!(" ×{n}"));
        }
        text.push_str(&format!(" of {}", size(v.shard_nbytes)));
    }
    text
}

/// The free-text tail of a variable's line: CF decoding, units, name, fill,
/// and peeked values.
fn notes(v: &Variable) -> String {
    let mut parts = Vec::new();
    if let Some(peek) = &v.peek {
        match (&peek.first_date, &peek.last_date) {
            (Some(a), Some(b)) => parts.push(format!("{a} … {b}")),
            _ => parts.push(format!(
                "{} … {}",
                value_text(&peek.first),
                value_text(&peek.last)
            )),
        }
    }
    if let Some(note) = &v.peek_note {
        parts.push(format!("[{note}]"));
    }
    if let Some(how) = &v.cf.decoding {
        parts.push(how.clone());
    }
    // Time units are named in the decoding.
    let time = v.cf.time_units.is_some() || v.cf.duration_units.is_some();
    if let Some(units) = v.cf.units.as_ref().filter(|_| !time) {
        parts.push(format!("[{units}]"));
    }
    if let Some(name) = v.cf.long_name.as_ref().or(v.cf.standard_name.as_ref()) {
        parts.push(format!("{name:?}"));
    }
    // A fill that masks is named in the decoding; a NaN fill of floats
    // changes nothing.
    if let Some(fill) = v.cf.fill.as_ref().filter(|f| {
        v.cf.masked.is_empty() && !f.is_null() && !cf::fill_text(f).eq_ignore_ascii_case("nan")
    }) {
        parts.push(format!("fill {}", cf::fill_text(fill)));
    }
    if let Some(e) = &v.error {
        parts.push(format!("unreadable metadata: {e}"));
    }
    parts.join("  ")
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn pad(text: &str, width: usize) -> String {
    let n = text.chars().count();
    format!("{text}{}", " ".repeat(width.saturating_sub(n)))
}

fn write_variables(
    out: &mut dyn io::Write,
    vars: &[Variable],
    coords: bool,
    width: usize,
) -> io::Result<()> {
    let rows: Vec<[String; 5]> = vars
        .iter()
        .map(|v| {
            let mark = if coords && is_index(v) { "*" } else { " " };
            [
                format!("  {mark} {}", v.name),
                format!("({})", v.dims.join(", ")),
                dtype_text(v),
                size(v.nbytes),
                chunks_text(v),
            ]
        })
        .collect();
    let mut widths = [0usize; 5];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for (row, v) in rows.iter().zip(vars) {
        let mut line = String::new();
        for (k, (cell, w)) in row.iter().zip(widths).enumerate() {
            if k > 0 {
                line.push_str("  ");
            }
            line.push_str(&pad(cell, w));
        }
        let tail = notes(v);
        if !tail.is_empty() {
            line.push_str("  ");
            line.push_str(&tail);
        }
        writeln!(out, "{}", truncate(line.trim_end(), width.max(40) + 80))?;
    }
    Ok(())
}

fn write_attributes(
    out: &mut dyn io::Write,
    attrs: &serde_json::Map<String, Value>,
    width: usize,
) -> io::Result<()> {
    let key_w = attrs.keys().map(|k| k.chars().count()).max().unwrap_or(0);
    for (key, value) in attrs {
        let line = format!(
            "    {}  {}",
            pad(&format!("{key}:"), key_w + 1),
            value_text(value)
        );
        writeln!(out, "{}", truncate(&line, width))?;
    }
    Ok(())
}

/// The dataset view. `width` is the terminal width (long values are cut).
pub fn write_dataset(out: &mut dyn io::Write, d: &Dataset, width: usize) -> io::Result<()> {
    writeln!(
        out,
        "<zarrscope.Dataset> {}  (Zarr v{}, {}{})  Size: {}",
        d.path,
        d.zarr_format,
        // A group inside a store: say whose metadata this is.
        if d.path == "/" { "" } else { "in store " },
        d.root,
        size(d.nbytes)
    )?;
    let dims: Vec<String> = d
        .dimensions
        .iter()
        .map(|dim| format!("{}: {}", dim.name, dim.size))
        .collect();
    writeln!(out, "Dimensions:  ({})", dims.join(", "))?;
    for dim in &d.dimensions {
        for c in &dim.conflicts {
            writeln!(
                out,
                "  ! dimension {:?} is {} in {} but {} elsewhere: xarray refuses such a group",
                dim.name,
                c.size,
                c.variables.join(", "),
                dim.size
            )?;
        }
    }
    if let Some(m) = &d.multiscales {
        writeln!(out, "Multiscale image:")?;
        for line in super::ome::details(m) {
            writeln!(out, "    {line}")?;
        }
    }
    writeln!(out, "Coordinates:")?;
    write_variables(out, &d.coordinates, true, width)?;
    writeln!(out, "Data variables:")?;
    write_variables(out, &d.data_variables, false, width)?;
    if !d.groups.is_empty() {
        writeln!(out, "Groups:")?;
        for g in &d.groups {
            writeln!(
                out,
                "    {}  {}, {}, {}",
                g.path,
                count_text(g.variables, "variable"),
                count_text(g.groups, "group"),
                size(g.nbytes)
            )?;
        }
    }
    // The OME block is summarised above; show the other attributes.
    let mut attrs = d.attributes.clone();
    if d.multiscales.is_some() {
        attrs.remove("multiscales");
        attrs.remove("ome");
    }
    writeln!(out, "Attributes:")?;
    write_attributes(out, &attrs, width)
}

/// The array detail.
/// `(4, 2) = 8 chunks`; `?` for a count that is not known.
fn grid_text(grid: &[u64], count: Option<u128>, unit: &str) -> String {
    let count = count.map_or("?".into(), |n| n.to_string());
    format!("{} = {count} {unit}", shape_text(grid))
}

pub fn write_array(out: &mut dyn io::Write, a: &ArrayDetail, width: usize) -> io::Result<()> {
    let mut rows: Vec<(&str, String)> = vec![
        ("Name", a.path.clone()),
        ("Store", a.root.clone()),
        ("Zarr format", a.zarr_format.to_string()),
    ];
    let stored = value_text(&a.dtype);
    rows.push((
        "Data type",
        match &a.data_type {
            Some(name) if *name != stored => format!("{name} (stored as {stored})"),
            Some(name) => name.clone(),
            None => format!("{stored} (no Zarr v3 equivalent)"),
        },
    ));
    rows.push(("Shape", shape_text(&a.shape)));
    rows.push((
        "Chunk shape",
        a.chunks.as_deref().map_or("?".into(), shape_text),
    ));
    if let Some(s) = &a.shards {
        rows.push(("Shard shape", shape_text(s)));
    }
    if let Some(grid) = &a.shard_grid {
        rows.push(("Shard grid", grid_text(grid, a.nshards, "shards")));
    }
    if let Some(grid) = &a.chunk_grid {
        rows.push(("Chunk grid", grid_text(grid, a.nchunks, "chunks")));
    }
    if let Some(order) = &a.order {
        rows.push(("Order", order.clone()));
    }
    rows.push(("Fill value", value_text(&a.fill_value)));
    if a.codecs.is_empty() {
        rows.push(("Codecs", "none (stored raw)".into()));
    }
    for (i, c) in a.codecs.iter().enumerate() {
        let config = serde_json::to_string(&c.configuration).unwrap_or_default();
        rows.push((
            if i == 0 { "Codecs" } else { "" },
            format!("{} {config}", c.name),
        ));
    }
    rows.push((
        "Dimension names",
        format!("({})", a.dimension_names.join(", ")),
    ));
    rows.push((
        "Logical size",
        match a.nbytes {
            Some(n) => format!("{} ({n} bytes)", size_text(n)),
            None => "? (variable-length or too large)".into(),
        },
    ));
    rows.push((
        "Bytes per chunk",
        format!("{} uncompressed", size(a.chunk_nbytes)),
    ));
    if a.shards.is_some() {
        rows.push((
            "Bytes per shard",
            format!("{} uncompressed", size(a.shard_nbytes)),
        ));
    }
    if let Some(decoded) = &a.cf.decoded_dtype {
        rows.push((
            "Decoded (CF)",
            match &a.cf.decoding {
                Some(how) => format!("{decoded} via {how}"),
                None => format!("{decoded} (as stored)"),
            },
        ));
    }
    for (label, value) in rows {
        let label = if label.is_empty() {
            " ".repeat(16)
        } else {
            pad(label, 16)
        };
        writeln!(out, "{}", truncate(&format!("{label}: {value}"), width))?;
    }
    writeln!(out, "Attributes:")?;
    write_attributes(out, &a.attributes, width)
}
