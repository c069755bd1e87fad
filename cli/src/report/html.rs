//! `--html FILE`: one self-contained page an auditor can open offline (no network, no CDN: inline
//! CSS, SVG and script). Totals; compliance by account, Region, service and key as stacked bars;
//! the NON_COMPLIANT resources with what is wrong and the fix, sortable and filterable; and what
//! could not be evaluated.
//!
//! Every chart bar and table row carries its numbers as `data-*` attributes, so what the browser
//! shows can be checked against the scan (the headless-Chromium test does).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;

use super::{Finding, Summary, Tally};

/// What the page is about: a title line and the scope scanned.
pub struct Page<'a> {
    /// "Scan of account 111122223333", "Organization compliance", ...
    pub title: &'a str,
    /// Where the verdicts come from (inventory, aggregator, Regions).
    pub source: &'a str,
    /// When the report was made (RFC 3339).
    pub generated: &'a str,
    /// Resources that got no verdict, each with the reason.
    pub not_evaluated: &'a [String],
    /// Whether the verdicts name their keys (a scan's do; aggregated rule results do not).
    pub by_key: bool,
    /// More lists to show at the end (title, lines), e.g. a deployment's drift.
    pub notes: &'a [(&'a str, &'a [String])],
}

/// Escapes text for HTML element content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root { --ok: #2e7d32; --bad: #c62828; --na: #9e9e9e; --ink: #1b1f24; --muted: #5f6b7a; --line: #d9dee5; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); margin: 0; background: #f6f8fa; }
header { background: #1b1f24; color: #fff; padding: 20px 32px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; color: #c9d1d9; }
main { padding: 24px 32px; max-width: 1400px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin-bottom: 20px; }
h2 { font-size: 17px; margin: 0 0 12px; }
.totals { display: flex; gap: 16px; flex-wrap: wrap; }
.total { flex: 1 1 150px; border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; }
.total .n { font-size: 28px; font-weight: 700; }
.total.ok .n { color: var(--ok); } .total.bad .n { color: var(--bad); } .total.na .n { color: var(--na); }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(620px, 1fr)); gap: 20px; }
.legend span { display: inline-block; margin-right: 14px; color: var(--muted); }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 2px; }
svg text { font-size: 12px; fill: var(--ink); }
svg .count { fill: var(--muted); }
.controls { display: flex; gap: 10px; flex-wrap: wrap; margin-bottom: 10px; }
.controls input, .controls select { padding: 6px 8px; border: 1px solid var(--line); border-radius: 6px; font: inherit; }
.controls input { flex: 1 1 260px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { cursor: pointer; user-select: none; background: #f0f3f6; position: sticky; top: 0; }
th[aria-sort="ascending"]::after { content: " \25B2"; } th[aria-sort="descending"]::after { content: " \25BC"; }
td code { font-size: 12px; background: #f0f3f6; padding: 1px 4px; border-radius: 4px; word-break: break-all; }
td.id { word-break: break-all; max-width: 360px; }
.shown { color: var(--muted); margin-left: auto; align-self: center; }
.empty { color: var(--muted); }
ul.failures li { margin-bottom: 4px; word-break: break-word; }
"#;

const SCRIPT: &str = r#"
(function () {
  const table = document.getElementById('findings');
  if (!table) return;
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  const text = document.getElementById('filter');
  const selects = Array.from(document.querySelectorAll('select[data-column]'));
  const shown = document.getElementById('shown');
  function apply() {
    const needle = text.value.trim().toLowerCase();
    let n = 0;
    for (const row of rows) {
      let visible = !needle || row.textContent.toLowerCase().includes(needle);
      for (const s of selects) {
        if (s.value && row.dataset[s.dataset.column] !== s.value) visible = false;
      }
      row.hidden = !visible;
      if (visible) n++;
    }
    shown.textContent = n + ' of ' + rows.length + ' shown';
  }
  text.addEventListener('input', apply);
  selects.forEach(s => s.addEventListener('change', apply));
  Array.from(table.tHead.rows[0].cells).forEach((th, i) => {
    th.addEventListener('click', () => {
      const up = th.getAttribute('aria-sort') !== 'ascending';
      Array.from(table.tHead.rows[0].cells).forEach(c => c.removeAttribute('aria-sort'));
      th.setAttribute('aria-sort', up ? 'ascending' : 'descending');
      rows.sort((a, b) => {
        const x = a.cells[i].textContent, y = b.cells[i].textContent;
        return (up ? 1 : -1) * x.localeCompare(y, undefined, {numeric: true});
      });
      rows.forEach(r => body.appendChild(r));
    });
  });
  apply();
})();
"#;

/// How many bars a chart shows before it folds the rest into one.
const MAX_BARS: usize = 30;

fn percent(t: &Tally) -> String {
    let judged = t.compliant + t.non_compliant;
    if judged == 0 {
        "–".to_owned()
    } else {
        format!("{:.1}%", 100.0 * t.compliant as f64 / judged as f64)
    }
}

/// A horizontal stacked-bar chart, one bar per entry, most NON_COMPLIANT first.
fn chart(id: &str, title: &str, entries: &BTreeMap<String, Tally>) -> String {
    let mut list: Vec<(String, Tally)> = entries.iter().map(|(k, t)| (k.clone(), *t)).collect();
    list.sort_by(|a, b| {
        b.1.non_compliant
            .cmp(&a.1.non_compliant)
            .then(b.1.total().cmp(&a.1.total()))
            .then(a.0.cmp(&b.0))
    });
    if list.len() > MAX_BARS {
        let rest = list.split_off(MAX_BARS - 1);
        let mut folded = Tally::default();
        for (_, t) in &rest {
            folded.compliant += t.compliant;
            folded.non_compliant += t.non_compliant;
            folded.not_applicable += t.not_applicable;
        }
        list.push((format!("{} more", rest.len()), folded));
    }
    let (label_w, bar_w, row_h) = (220.0, 260.0, 26.0);
    let max = list
        .iter()
        .map(|(_, t)| t.total())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let height = row_h * list.len().max(1) as f64 + 8.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg id="{id}" role="img" aria-label="{}" width="100%" viewBox="0 0 640 {height}" preserveAspectRatio="xMinYMin meet">"#,
        esc(title)
    );
    if list.is_empty() {
        svg.push_str(r#"<text x="0" y="18" class="count">no resources</text>"#);
    }
    for (i, (label, t)) in list.iter().enumerate() {
        let y = 4.0 + i as f64 * row_h;
        let short: String = if label.chars().count() > 32 {
            let tail: String = label
                .chars()
                .rev()
                .take(30)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            format!("…{tail}")
        } else {
            label.clone()
        };
        let _ = write!(
            svg,
            r#"<g class="bar" data-label="{}" data-compliant="{}" data-non-compliant="{}" data-not-applicable="{}"><title>{}: {} COMPLIANT, {} NON_COMPLIANT, {} NOT_APPLICABLE</title><text x="0" y="{}">{}</text>"#,
            esc(label),
            t.compliant,
            t.non_compliant,
            t.not_applicable,
            esc(label),
            t.compliant,
            t.non_compliant,
            t.not_applicable,
            y + 15.0,
            esc(&short),
        );
        let mut x = label_w;
        for (n, class, color) in [
            (t.compliant, "ok", "var(--ok)"),
            (t.non_compliant, "bad", "var(--bad)"),
            (t.not_applicable, "na", "var(--na)"),
        ] {
            let w = bar_w * n as f64 / max;
            if n > 0 {
                let _ = write!(
                    svg,
                    r#"<rect class="{class}" x="{x:.1}" y="{y}" width="{w:.1}" height="18" fill="{color}"/>"#
                );
            }
            x += w;
        }
        let _ = write!(
            svg,
            r#"<text class="count" x="{:.1}" y="{}">{} ✓ · {} ✗ · {} n/a · {}</text></g>"#,
            label_w + bar_w + 8.0,
            y + 15.0,
            t.compliant,
            t.non_compliant,
            t.not_applicable,
            percent(t)
        );
    }
    svg.push_str("</svg>");
    format!(
        r#"<section class="chart"><h2>{}</h2><p class="legend"><span><i style="background:var(--ok)"></i>COMPLIANT</span><span><i style="background:var(--bad)"></i>NON_COMPLIANT</span><span><i style="background:var(--na)"></i>NOT_APPLICABLE</span></p>{svg}</section>"#,
        esc(title)
    )
}

fn options(column: &str, label: &str, values: impl Iterator<Item = String>) -> String {
    let mut html = format!(
        r#"<select data-column="{column}" aria-label="{label}"><option value="">all {label}s</option>"#
    );
    for v in values {
        let _ = write!(html, r#"<option value="{0}">{0}</option>"#, esc(&v));
    }
    html.push_str("</select>");
    html
}

/// Writes the report: `summary` for totals and charts, `non_compliant` for the table.
pub fn write(
    out: &mut impl Write,
    page: &Page<'_>,
    summary: &Summary,
    non_compliant: impl Iterator<Item = anyhow::Result<Finding>>,
) -> anyhow::Result<()> {
    let t = &summary.total;
    write!(
        out,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title><style>{STYLE}</style></head><body><header><h1>{title}</h1><p>{source} · generated {generated} by cmk-guardrails {version}</p></header><main>"#,
        title = esc(page.title),
        source = esc(page.source),
        generated = esc(page.generated),
        version = env!("CARGO_PKG_VERSION"),
    )?;
    write!(
        out,
        r#"<section><h2>Totals</h2><div class="totals" id="totals" data-resources="{}" data-compliant="{}" data-non-compliant="{}" data-not-applicable="{}" data-not-evaluated="{}"><div class="total"><div class="n">{}</div>resources evaluated</div><div class="total ok"><div class="n">{}</div>COMPLIANT</div><div class="total bad"><div class="n">{}</div>NON_COMPLIANT</div><div class="total na"><div class="n">{}</div>NOT_APPLICABLE</div><div class="total"><div class="n">{}</div>not evaluated</div><div class="total"><div class="n">{}</div>compliant of judged</div></div></section>"#,
        t.total(),
        t.compliant,
        t.non_compliant,
        t.not_applicable,
        page.not_evaluated.len(),
        t.total(),
        t.compliant,
        t.non_compliant,
        t.not_applicable,
        page.not_evaluated.len(),
        percent(t),
    )?;
    out.write_all(br#"<div class="charts">"#)?;
    for (id, title, entries) in [
        ("by-account", "Compliance by account", &summary.by_account),
        ("by-region", "Compliance by Region", &summary.by_region),
        ("by-service", "Compliance by service", &summary.by_service),
        ("by-key", "Compliance by KMS key", &summary.by_key),
    ] {
        if id != "by-key" || page.by_key {
            out.write_all(chart(id, title, entries).as_bytes())?;
        }
    }
    out.write_all(b"</div>")?;
    write!(
        out,
        r#"<section><h2>NON_COMPLIANT resources</h2><div class="controls"><input id="filter" type="search" placeholder="Filter by any text (resource, key, annotation)" aria-label="filter">{}{}{}<span class="shown" id="shown"></span></div>"#,
        options("account", "account", summary.by_account.keys().cloned()),
        options("region", "Region", summary.by_region.keys().cloned()),
        options("service", "service", summary.by_service.keys().cloned()),
    )?;
    out.write_all(br#"<table id="findings"><thead><tr><th>Account</th><th>Region</th><th>Service</th><th>Resource</th><th>What is wrong</th><th>Fix</th><th>Key</th></tr></thead><tbody>"#)?;
    let mut rows = 0u64;
    for f in non_compliant {
        let f = f?;
        let (problem, fix) = f.problem_and_fix();
        write!(
            out,
            r#"<tr data-account="{a}" data-region="{r}" data-service="{s}"><td>{a}</td><td>{r}</td><td>{s}</td><td class="id">{id}</td><td>{p}</td><td>{fix}</td><td class="id">{k}</td></tr>"#,
            a = esc(&f.account),
            r = esc(&f.region),
            s = esc(&f.resource_type),
            id = esc(&f.resource_id),
            p = esc(problem),
            fix = if fix.is_empty() {
                String::new()
            } else {
                format!("<code>{}</code>", esc(fix))
            },
            k = esc(&f.keys.join(" ")),
        )?;
        rows += 1;
    }
    out.write_all(b"</tbody></table>")?;
    if rows == 0 {
        out.write_all(br#"<p class="empty">No NON_COMPLIANT resources.</p>"#)?;
    }
    out.write_all(b"</section>")?;
    if !page.not_evaluated.is_empty() {
        write!(
            out,
            r#"<section><h2>Not evaluated ({})</h2><ul class="failures">"#,
            page.not_evaluated.len()
        )?;
        for reason in page.not_evaluated {
            write!(out, "<li>{}</li>", esc(reason))?;
        }
        out.write_all(b"</ul></section>")?;
    }
    for (title, lines) in page.notes.iter().filter(|(_, l)| !l.is_empty()) {
        write!(
            out,
            r#"<section><h2>{}</h2><ul class="failures">"#,
            esc(title)
        )?;
        for line in *lines {
            write!(out, "<li>{}</li>", esc(line))?;
        }
        out.write_all(b"</ul></section>")?;
    }
    writeln!(out, "</main><script>{SCRIPT}</script></body></html>")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(account: &str, id: &str, compliance: &str) -> Finding {
        Finding {
            annotation: Some(
                "<b>bad</b> stream. Fix: aws kinesis start-stream-encryption".to_owned(),
            ),
            ..crate::report::tests::finding(account, id, compliance)
        }
    }

    fn render(findings: &[Finding], failures: &[String]) -> String {
        let mut summary = Summary::default();
        for f in findings {
            summary.add(f);
        }
        let page = Page {
            title: "Scan",
            source: "account <1>",
            generated: "2026-12-01T00:00:00Z",
            not_evaluated: failures,
            by_key: false,
            notes: &[("Drift", &["stack set outdated".to_owned()])],
        };
        let mut out = Vec::new();
        let rows = findings
            .iter()
            .filter(|f| f.compliance_type == "NON_COMPLIANT")
            .cloned()
            .map(Ok);
        write(&mut out, &page, &summary, rows).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_page_is_self_contained_and_escaped() {
        let html = render(
            &[
                finding("1", "a", "NON_COMPLIANT"),
                finding("2", "b", "COMPLIANT"),
            ],
            &["x <y>".to_owned()],
        );
        for remote in ["http://", "https://", "<link", "src="] {
            assert!(!html.contains(remote), "{remote} in the page");
        }
        assert!(!html.contains("<b>bad</b>"), "annotations are escaped");
        assert!(html.contains("&lt;b&gt;bad&lt;/b&gt; stream."));
        assert!(html.contains("<code>aws kinesis start-stream-encryption</code>"));
        assert!(html.contains("account &lt;1&gt;"));
        assert!(html.contains("<li>x &lt;y&gt;</li>"));
        assert!(html.contains("<h2>Drift</h2>") && html.contains("<li>stack set outdated</li>"));
        assert!(
            !html.contains(r#"id="by-key""#),
            "no key chart without keys"
        );
        assert_eq!(html.matches("<tr data-account").count(), 1);
        assert!(html.contains(r#"data-label="1" data-compliant="0" data-non-compliant="1""#));
        assert!(html.contains(r#"data-label="2" data-compliant="1" data-non-compliant="0""#));
    }

    #[test]
    fn a_chart_folds_what_does_not_fit_into_one_bar() {
        let mut entries = BTreeMap::new();
        for i in 0..40 {
            entries.insert(
                format!("k{i:02}"),
                Tally {
                    compliant: 1,
                    ..Tally::default()
                },
            );
        }
        let svg = chart("c", "t", &entries);
        assert_eq!(svg.matches(r#"<g class="bar""#).count(), MAX_BARS);
        assert!(
            svg.contains(r#"data-label="11 more" data-compliant="11""#),
            "{svg}"
        );
    }
}
