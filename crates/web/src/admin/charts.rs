//! Charts drawn on the server as SVG (no script, no chart service): readable without
//! JavaScript, each with a title and a description, and shown beside a table of the same
//! numbers for screen readers. Colours are attributes, not styles (the CSP allows no inline
//! style).
use std::fmt::Write;

fn esc(s: &str) -> String {
    askama::filters::escape(s, askama::filters::Html)
        .map_or_else(|_| String::new(), |e| e.to_string())
}

/// Two bars per period (received, served), with a value axis and the periods' labels.
/// `id` names the chart for `aria-labelledby`.
pub fn bars(
    id: &str,
    title: &str,
    desc: &str,
    legend: (&str, &str),
    rows: &[(String, u32, u32)],
) -> String {
    let (w, h, left, bottom, top) = (760.0_f64, 260.0_f64, 44.0_f64, 46.0_f64, 28.0_f64);
    let max = rows.iter().map(|r| r.1.max(r.2)).max().unwrap_or(0).max(1);
    let step = nice_step(max);
    let top_value = max.div_ceil(step) * step;
    let plot_h = h - bottom - top;
    let slot = (w - left - 8.0) / rows.len().max(1) as f64;
    let bar = (slot * 0.38).max(1.0);
    let base = top + plot_h;
    let y = |v: u32| base - plot_h * f64::from(v) / f64::from(top_value);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-labelledby="{id}-title {id}-desc" xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        esc(title),
        esc(desc)
    );
    let mut v = 0;
    while v <= top_value {
        let _ = write!(
            svg,
            r##"<line x1="{left}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#d0d5dd"/><text x="{}" y="{:.1}" text-anchor="end" font-size="12" fill="#1f2933">{v}</text>"##,
            w - 8.0,
            left - 6.0,
            y(v) + 4.0,
            y = y(v)
        );
        v += step;
    }
    // Label every period when they fit, else every few.
    let every = (rows.len() / 14).max(1);
    for (i, (label, a, b)) in rows.iter().enumerate() {
        let x = left + slot * i as f64 + (slot - 2.0 * bar) / 2.0;
        let _ = write!(
            svg,
            r##"<rect x="{x:.1}" y="{:.1}" width="{bar:.1}" height="{:.1}" fill="#0b4f8a"><title>{}: {a}</title></rect><rect x="{:.1}" y="{:.1}" width="{bar:.1}" height="{:.1}" fill="#2f9e44"><title>{}: {b}</title></rect>"##,
            y(*a),
            base - y(*a),
            esc(&format!("{label} · {}", legend.0)),
            x + bar,
            y(*b),
            base - y(*b),
            esc(&format!("{label} · {}", legend.1)),
        );
        if i % every == 0 {
            let _ = write!(
                svg,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="11" fill="#1f2933">{}</text>"##,
                x + bar,
                h - bottom + 16.0,
                esc(label)
            );
        }
    }
    let _ = write!(
        svg,
        r##"<rect x="{left}" y="{}" width="12" height="12" fill="#0b4f8a"/><text x="{}" y="{}" font-size="12" fill="#1f2933">{}</text><rect x="{}" y="{}" width="12" height="12" fill="#2f9e44"/><text x="{}" y="{}" font-size="12" fill="#1f2933">{}</text></svg>"##,
        h - 16.0,
        left + 18.0,
        h - 6.0,
        esc(legend.0),
        left + 160.0,
        h - 16.0,
        left + 178.0,
        h - 6.0,
        esc(legend.1)
    );
    svg
}

/// A step for the value axis: 1, 2 or 5 times a power of ten, about five lines.
fn nice_step(max: u32) -> u32 {
    let raw = f64::from(max) / 5.0;
    let pow = 10_f64.powf(raw.log10().floor().max(0.0));
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * pow)
        .find(|s| *s >= raw)
        .unwrap_or(pow * 10.0);
    (step as u32).max(1)
}

/// Where each state sits on the tile map (column, row): a grid that keeps neighbours close.
pub const TILES: [(&str, u8, u8); 51] = [
    ("AK", 0, 0),
    ("ME", 11, 0),
    ("WI", 6, 1),
    ("VT", 10, 1),
    ("NH", 11, 1),
    ("WA", 1, 2),
    ("ID", 2, 2),
    ("MT", 3, 2),
    ("ND", 4, 2),
    ("MN", 5, 2),
    ("IL", 6, 2),
    ("MI", 7, 2),
    ("NY", 9, 2),
    ("MA", 10, 2),
    ("OR", 1, 3),
    ("NV", 2, 3),
    ("WY", 3, 3),
    ("SD", 4, 3),
    ("IA", 5, 3),
    ("IN", 6, 3),
    ("OH", 7, 3),
    ("PA", 8, 3),
    ("NJ", 9, 3),
    ("CT", 10, 3),
    ("RI", 11, 3),
    ("CA", 1, 4),
    ("UT", 2, 4),
    ("CO", 3, 4),
    ("NE", 4, 4),
    ("MO", 5, 4),
    ("KY", 6, 4),
    ("WV", 7, 4),
    ("VA", 8, 4),
    ("MD", 9, 4),
    ("DE", 10, 4),
    ("AZ", 2, 5),
    ("NM", 3, 5),
    ("KS", 4, 5),
    ("AR", 5, 5),
    ("TN", 6, 5),
    ("NC", 7, 5),
    ("SC", 8, 5),
    ("DC", 9, 5),
    ("OK", 4, 6),
    ("LA", 5, 6),
    ("MS", 6, 6),
    ("AL", 7, 6),
    ("GA", 8, 6),
    ("HI", 0, 7),
    ("TX", 4, 7),
    ("FL", 9, 7),
];

/// The fill and text colour of a tile by share served (`None`: no requests), and the band's
/// index for the legend.
pub fn heat(share: Option<f64>) -> (&'static str, &'static str, usize) {
    match share {
        None => ("#e4e7eb", "#1f2933", 0),
        Some(s) if s < 0.25 => ("#9b1c1c", "#ffffff", 1),
        Some(s) if s < 0.5 => ("#d9480f", "#000000", 2),
        Some(s) if s < 0.75 => ("#f2c94c", "#000000", 3),
        Some(s) if s < 0.9 => ("#74b816", "#000000", 4),
        Some(_) => ("#1b6e33", "#ffffff", 5),
    }
}

/// The tile map: one square per state, coloured by share served; each tile links to the
/// state's ZIP3 areas and says its numbers in its title.
pub fn tile_map(
    id: &str,
    title: &str,
    desc: &str,
    tiles: &[(&str, Option<f64>, String)],
    link: impl Fn(&str) -> String,
) -> String {
    let size = 54.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart tile-map" viewBox="0 0 {} {}" role="group" aria-labelledby="{id}-title" aria-describedby="{id}-desc" xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        12.0 * size + 4.0,
        8.0 * size + 4.0,
        esc(title),
        esc(desc)
    );
    for (code, col, row) in TILES {
        let Some((_, share, words)) = tiles.iter().find(|(c, ..)| *c == code) else {
            continue;
        };
        let (fill, ink, _) = heat(*share);
        let words = esc(words);
        let (x, y) = (f64::from(col) * size + 2.0, f64::from(row) * size + 2.0);
        let _ = write!(
            svg,
            r##"<a href="{}" aria-label="{words}"><rect x="{x}" y="{y}" width="{}" height="{}" rx="4" fill="{fill}" stroke="#ffffff" stroke-width="2"><title>{words}</title></rect><text x="{}" y="{}" text-anchor="middle" font-size="15" font-weight="700" fill="{ink}" aria-hidden="true">{code}</text></a>"##,
            esc(&link(code)),
            size - 2.0,
            size - 2.0,
            x + size / 2.0 - 1.0,
            y + size / 2.0 + 5.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    #[test]
    fn axis_steps_are_round() {
        assert_eq!(super::nice_step(1), 1);
        assert_eq!(super::nice_step(7), 2);
        assert_eq!(super::nice_step(23), 5);
        assert_eq!(super::nice_step(480), 100);
    }

    #[test]
    fn every_state_and_dc_has_one_tile() {
        let mut codes: Vec<&str> = super::TILES.iter().map(|t| t.0).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), 51);
        let mut places: Vec<(u8, u8)> = super::TILES.iter().map(|t| (t.1, t.2)).collect();
        places.sort_unstable();
        places.dedup();
        assert_eq!(places.len(), 51, "no two tiles on one square");
    }

    #[test]
    fn labels_are_escaped() {
        let svg = super::bars("c", "<t>", "d", ("a", "b"), &[("<x>".into(), 1, 0)]);
        assert!(!svg.contains("<x>") && svg.contains("&#60;x&#62;"), "{svg}");
    }
}
