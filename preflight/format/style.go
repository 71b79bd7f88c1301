package format

// The stylesheet pieces both HTML reports share, the single-host one here
// and the cluster matrix in preflight/cluster, so that they look alike.

// StyleBase is the palette, box model and body font.
const StyleBase = `:root {
  --fg: #1f2328; --muted: #59636e; --border: #d1d9e0; --bg: #f6f8fa; --card: #fff;
  --pass: #1a7f37; --pass-bg: #dafbe1;
  --warn: #9a6700; --warn-bg: #fff8c5;
  --fail: #d1242f; --fail-bg: #ffebe9;
  --skip: #59636e; --skip-bg: #eff2f5;
  --error: #8250df; --error-bg: #fbefff;
  --mono: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", "DejaVu Sans Mono", monospace;
}
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 14px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", "Liberation Sans", Helvetica, Arial, sans-serif; }
`

// StyleSummary is the verdict pill, the meta list, the summary bar and the counts.
const StyleSummary = `.verdict { grid-row: 1 / span 2; grid-column: 2; align-self: center; text-align: right; }
.verdict .pill { display: inline-block; padding: 6px 16px; border-radius: 999px; font-weight: 700; font-size: 16px; }
.verdict .detail { display: block; color: var(--muted); font-size: 13px; margin-top: 4px; }
.verdict.pass .pill { background: var(--pass-bg); color: var(--pass); }
.verdict.warn .pill { background: var(--warn-bg); color: var(--warn); }
.verdict.fail .pill { background: var(--fail); color: #fff; }
.meta { grid-column: 1 / -1; display: flex; flex-wrap: wrap; gap: 8px 32px; margin: 14px 0 0; padding-top: 14px; border-top: 1px solid var(--border); }
.meta div { min-width: 0; }
.meta dt { color: var(--muted); font-size: 12px; }
.meta dd { margin: 0; font-weight: 600; word-break: break-all; }

/* summary */
.summary { padding: 16px 24px; }
.bar { display: flex; height: 12px; border-radius: 6px; overflow: hidden; background: var(--skip-bg); }
.bar span { display: block; min-width: 3px; }
.bar .pass { background: var(--pass); } .bar .warn { background: #d4a72c; } .bar .fail { background: var(--fail); }
.bar .skip { background: #afb8c1; } .bar .error { background: var(--error); }
.counts { display: flex; flex-wrap: wrap; gap: 8px 28px; list-style: none; margin: 12px 0 0; padding: 0; }
.counts li { display: flex; align-items: baseline; gap: 6px; color: var(--muted); }
.counts b { font-size: 22px; color: var(--fg); }
.counts .dot { width: 10px; height: 10px; border-radius: 50%; display: inline-block; align-self: center; }
.counts .pass .dot { background: var(--pass); } .counts .warn .dot { background: #d4a72c; } .counts .fail .dot { background: var(--fail); }
.counts .skip .dot { background: #afb8c1; } .counts .error .dot { background: var(--error); }
.counts .fail.some b { color: var(--fail); } .counts .error.some b { color: var(--error); } .counts .warn.some b { color: var(--warn); }
.counts .took { margin-left: auto; }
`

// StyleBadges is the status badges and tags.
const StyleBadges = `/* badges */
.badge { display: inline-block; min-width: 54px; text-align: center; padding: 2px 8px; border-radius: 999px;
  font-size: 11px; font-weight: 700; text-transform: uppercase; letter-spacing: .05em; white-space: nowrap; }
.badge.pass { background: var(--pass-bg); color: var(--pass); }
.badge.warn { background: var(--warn-bg); color: var(--warn); }
.badge.fail { background: var(--fail); color: #fff; }
.badge.skip { background: var(--skip-bg); color: var(--skip); }
.badge.error { background: var(--error); color: #fff; }
.badge.unknown { background: var(--skip-bg); color: var(--fg); }
.tag { display: inline-block; padding: 0 6px; border-radius: 4px; font-size: 11px; font-weight: 600; background: var(--skip-bg); color: var(--muted); margin-left: 6px; vertical-align: 1px; }
`
