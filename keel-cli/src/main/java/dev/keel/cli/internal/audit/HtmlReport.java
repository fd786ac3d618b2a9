package dev.keel.cli.internal.audit;

/**
 * The self-contained HTML form of the mTLS audit: one file, no network, the report's JSON embedded
 * and rendered by a small script into summary figures, a coverage chart per namespace, a certificate
 * expiry timeline (inline SVG) and the tables. Every figure on the page is read from the embedded JSON,
 * so the page and {@code mtls-audit.json} cannot disagree.
 */
public final class HtmlReport {

    private HtmlReport() {
    }

    /** The page for {@code json}, the report as {@code keel audit mtls} writes it. */
    public static String render(String json) {
        // Inside <script>, "</script" and "<!--" change where the element ends; "\u003c" is the same
        // character to JSON.parse and no markup to the HTML parser (U+2028/9 likewise for old parsers).
        String embedded = json.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029");
        return PAGE.replace("@@DATA@@", embedded);
    }

    private static final String PAGE = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Keel mTLS compliance audit</title>
            <style>
              body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #1d2433; }
              h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
              .meta { color: #5b6475; margin-bottom: 16px; }
              .cards { display: flex; flex-wrap: wrap; gap: 12px; }
              .card { border: 1px solid #d6dbe4; border-radius: 8px; padding: 12px 16px; min-width: 150px; }
              .card .v { font-size: 26px; font-weight: 600; } .card .l { color: #5b6475; }
              .pass { color: #11703a; } .fail { color: #b3261e; }
              table { border-collapse: collapse; width: 100%; margin-top: 6px; }
              th, td { border-bottom: 1px solid #e3e7ee; padding: 5px 8px; text-align: left; vertical-align: top; }
              th { background: #f4f6fa; font-weight: 600; }
              .sev-high { color: #b3261e; font-weight: 600; } .sev-medium { color: #9a5b00; } .sev-info { color: #5b6475; }
              svg text { font: 12px system-ui, sans-serif; fill: #1d2433; }
              code { font-size: 12px; }
            </style>
            </head>
            <body>
            <h1>Keel mTLS compliance audit</h1>
            <div class="meta" id="meta"></div>
            <div class="cards">
              <div class="card"><div class="v" id="verdict"></div><div class="l">gate (--min-mtls <span id="min-mtls"></span> %)</div></div>
              <div class="card"><div class="v" id="coverage"></div><div class="l">observed traffic over mTLS</div></div>
              <div class="card"><div class="v" id="strict-ports"></div><div class="l">ports in STRICT mode</div></div>
              <div class="card"><div class="v" id="plaintext-traffic"></div><div class="l">plaintext requests + connections</div></div>
              <div class="card"><div class="v" id="identities-issued"></div><div class="l">identities issued</div></div>
              <div class="card"><div class="v" id="unprotected-count"></div><div class="l">workloads without an ALLOW AuthorizationPolicy</div></div>
            </div>
            <h2>mTLS coverage per namespace</h2>
            <svg id="ns-chart" role="img" aria-label="mTLS coverage per namespace"></svg>
            <h2>Certificate expiry timeline</h2>
            <svg id="expiry-chart" role="img" aria-label="Certificate expiry timeline"></svg>
            <h2>Findings</h2>
            <table id="findings"><thead><tr><th>Severity</th><th>Subject</th><th>Finding</th></tr></thead><tbody></tbody></table>
            <h2>Workloads and ports</h2>
            <table id="workloads"><thead><tr><th>Workload</th><th>SPIFFE ID</th><th>Ports (mode)</th><th>mTLS</th>
              <th>Plaintext</th><th>Plaintext peers</th><th>AuthorizationPolicies</th><th>SVID expires</th></tr></thead><tbody></tbody></table>
            <h2>Identities issued (CA audit log)</h2>
            <div class="meta" id="ca-log"></div>
            <table id="identities"><thead><tr><th>SPIFFE ID</th><th>Serial</th><th>Issued</th><th>Expires</th><th>Issuances</th></tr></thead><tbody></tbody></table>
            <script type="application/json" id="report-data">@@DATA@@</script>
            <script>
            (function () {
              "use strict";
              var r = JSON.parse(document.getElementById("report-data").textContent);
              var s = r.summary, NS = "http://www.w3.org/2000/svg";
              function text(id, v) { document.getElementById(id).textContent = v; }
              function pct(v) { return v === null || v === undefined ? "n/a" : v + " %"; }
              function el(tag, attrs, parent, content) {
                var e = document.createElementNS(NS, tag);
                Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
                if (content !== undefined) { e.textContent = content; }
                parent.appendChild(e); return e;
              }
              function row(table, cells, attrs) {
                var tr = document.createElement("tr");
                Object.keys(attrs || {}).forEach(function (k) { tr.setAttribute(k, attrs[k]); });
                cells.forEach(function (c) {
                  var td = document.createElement("td");
                  if (c && c.cls) { td.className = c.cls; td.textContent = c.v; } else { td.textContent = c; }
                  tr.appendChild(td);
                });
                document.querySelector("#" + table + " tbody").appendChild(tr);
              }
              text("meta", "Trust domain " + r.trustDomain + " - generated " + r.generatedAt + " - " + s.workloads
                + " workloads (" + s.workloadsReachable + " reachable), " + s.ports + " ports");
              var verdict = document.getElementById("verdict");
              verdict.textContent = s.passed ? "PASS" : "FAIL"; verdict.className = "v " + (s.passed ? "pass" : "fail");
              text("min-mtls", s.minMtls);
              text("coverage", pct(s.mtlsCoveragePercent));
              text("strict-ports", pct(s.strictPortsPercent));
              text("plaintext-traffic", s.plaintextTraffic);
              text("identities-issued", s.identitiesIssued);
              text("unprotected-count", s.workloadsWithoutAuthorizationPolicy.length);

              // Coverage per namespace: one stacked bar each, mTLS in green, plaintext in red.
              var chart = document.getElementById("ns-chart"), W = 720, bar = 26, left = 150;
              chart.setAttribute("width", W); chart.setAttribute("height", 30 + r.namespaces.length * (bar + 10));
              r.namespaces.forEach(function (n, i) {
                var y = 10 + i * (bar + 10), total = n.mtls + n.plaintext, width = W - left - 90;
                el("text", {x: 0, y: y + 17}, chart, n.namespace);
                var g = el("g", {"class": "ns-bar", "data-namespace": n.namespace,
                  "data-coverage": n.coveragePercent === null ? "" : n.coveragePercent}, chart);
                if (total === 0) {
                  el("rect", {x: left, y: y, width: width, height: bar, fill: "#e3e7ee"}, g);
                } else {
                  var m = width * n.mtls / total;
                  el("rect", {x: left, y: y, width: m, height: bar, fill: "#2e9d5b", "class": "mtls"}, g);
                  el("rect", {x: left + m, y: y, width: width - m, height: bar, fill: "#d9534f", "class": "plaintext"}, g);
                }
                el("text", {x: W - 82, y: y + 17, "class": "ns-label"}, chart,
                  total === 0 ? "no traffic" : pct(n.coveragePercent));
              });

              // Expiry timeline: from now to the latest expiry; a bar per identity ends at its notAfter.
              var ids = r.identities, tl = document.getElementById("expiry-chart"), lw = 330, rowH = 20;
              var now = Date.parse(r.generatedAt), end = now;
              ids.forEach(function (i) { end = Math.max(end, Date.parse(i.notAfter)); });
              var span = Math.max(end - now, 3600000), plot = W - lw - 10;
              tl.setAttribute("width", W); tl.setAttribute("height", 40 + ids.length * rowH);
              el("line", {x1: lw, x2: lw, y1: 0, y2: 20 + ids.length * rowH, stroke: "#5b6475"}, tl);
              el("text", {x: lw, y: 32 + ids.length * rowH}, tl, "now");
              el("text", {x: W - 160, y: 32 + ids.length * rowH}, tl, new Date(end).toISOString().slice(0, 16) + "Z");
              ids.forEach(function (i, k) {
                var y = 6 + k * rowH, left = Date.parse(i.notAfter) - now, w = Math.max(0, plot * left / span);
                var color = i.expired ? "#9aa3b2" : left < 86400000 ? "#e0a100" : "#2e9d5b";
                el("text", {x: 0, y: y + 12}, tl, i.spiffeId.length > 52 ? "..." + i.spiffeId.slice(-49) : i.spiffeId);
                el("rect", {x: lw, y: y, width: Math.max(w, 2), height: rowH - 6, fill: color, "class": "expiry",
                  "data-spiffe-id": i.spiffeId, "data-not-after": i.notAfter}, tl);
              });

              r.findings.forEach(function (f) {
                row("findings", [{cls: "sev-" + f.severity, v: f.severity}, f.subject, f.message]);
              });
              r.workloads.forEach(function (w) {
                row("workloads", [w.name, w.spiffeId,
                  w.ports.map(function (p) { return p.appPort + " " + p.protocol + " " + p.mode; }).join(", ") || (w.error || ""),
                  w.mtlsRequests + w.mtlsConnections, w.plaintextRequests + w.plaintextConnections,
                  w.plaintextPeers.map(function (p) { return p.address + " (" + p.count + ")"; }).join(", "),
                  w.authorizationPolicies.join(", ") || "none", w.svidNotAfter || "none"], {"data-workload": w.name});
              });
              if (r.caAuditLog) {
                text("ca-log", r.caAuditLog.path + ": " + r.caAuditLog.lines + " lines, hash chain "
                  + (r.caAuditLog.chainVerified ? "verified" : "NOT verified: " + r.caAuditLog.problems.join("; ")));
              } else {
                text("ca-log", "no CA audit log given");
              }
              ids.forEach(function (i) {
                row("identities", [i.spiffeId, i.serial, i.issuedAt, i.notAfter + (i.expired ? " (expired)" : "") + (i.revoked ? " (revoked)" : ""), i.issuances]);
              });
              document.body.setAttribute("data-rendered", "true");
            })();
            </script>
            </body>
            </html>
            """;
}
