//! `GET /`: the server-rendered status page (no front-end build): calendars with role and colour,
//! channel expiry, last sync and its delay, errors, open conflicts with resolve buttons, and an SVG
//! chart of the last day's delays. Behind the admin token: a bearer header or the cookie `/login`
//! sets (`status_forms`: sign-in, logout and the resolve form).

use std::fmt::Write as _;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};

use super::AppState;
use crate::status::{DelayPoint, Snapshot};

pub(super) fn esc(s: &str) -> String {
    crate::notify::escape_html(s)
}

pub(super) fn html(status: actix_web::http::StatusCode, title: &str, body: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"))
        .body(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
             <title>{title}</title><style>{STYLE}</style></head><body>{body}</body></html>",
            title = esc(title)
        ))
}

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}\
th,td{border-bottom:1px solid #ddd;padding:.4em .8em;text-align:left}th{background:#f4f4f4}\
.dot{display:inline-block;width:.9em;height:.9em;border-radius:50%;vertical-align:middle;margin-right:.4em}\
.bad{color:#b00020}.ok{color:#0a7d32}.muted{color:#777}button{margin-right:.4em}svg{border:1px solid #ddd}";

pub(super) fn login_page(message: Option<&str>) -> HttpResponse {
    let note = message
        .map(|m| format!("<p class=\"bad\">{}</p>", esc(m)))
        .unwrap_or_default();
    html(
        actix_web::http::StatusCode::UNAUTHORIZED,
        "calsync: sign in",
        &format!(
            "<h1>calsync</h1>{note}<form method=\"post\" action=\"/login\">\
             <label>Admin token (<code>calsync admin-token</code>)<br>\
             <input name=\"token\" type=\"password\" size=\"60\" autocomplete=\"off\"></label> \
             <button type=\"submit\">Sign in</button></form>"
        ),
    )
}

pub async fn page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match super::status_forms::sign_in(&req, &state) {
        Ok(true) => {}
        Ok(false) => return login_page(None),
        Err(_) => return super::status_forms::too_many(),
    }
    match crate::status::full(&state.pool).await {
        Ok(snap) => html(
            actix_web::http::StatusCode::OK,
            "calsync status",
            &render(&snap, Utc::now()),
        ),
        Err(e) => {
            tracing::warn!(error.cause = %e, "status page: database unavailable");
            html(
                actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                "calsync status",
                "<h1>calsync</h1><p class=\"bad\">The database is unavailable; retry in a moment.</p>",
            )
        }
    }
}

fn ago(t: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    match t {
        None => "never".into(),
        Some(t) => {
            let s = (now - t).num_seconds();
            match s {
                i64::MIN..=59 => format!("{}s ago", s.max(0)),
                60..=3599 => format!("{} min ago", s / 60),
                _ => format!("{} h ago", s / 3600),
            }
        }
    }
}

fn render(snap: &Snapshot, now: DateTime<Utc>) -> String {
    let mut out = String::from(
        "<h1>calsync</h1><h2>Calendars</h2><table id=\"calendars\"><tr><th>role</th><th>calendar</th><th>channel</th><th>last sync</th><th>delay</th><th>errors</th></tr>",
    );
    for c in &snap.calendars {
        let colour = c
            .color
            .as_deref()
            .filter(|c| {
                c.len() <= 9
                    && c.strip_prefix('#')
                        .is_some_and(|h| h.chars().all(|ch| ch.is_ascii_hexdigit()))
            })
            .unwrap_or("#888");
        let channel = match (&c.channel_state, c.channel_expires) {
            (Some(state), Some(exp)) if exp > now => {
                let left = exp - now;
                format!(
                    "<span class=\"ok\">{}</span>, expires in {} h {} min",
                    esc(state),
                    left.num_hours(),
                    left.num_minutes() % 60
                )
            }
            (Some(_), Some(_)) => "<span class=\"bad\">expired</span>".into(),
            _ => "<span class=\"bad\">none</span> (poll only)".into(),
        };
        let delay = c
            .last_delay_ms
            .map(|d| format!("{d:.0} ms"))
            .unwrap_or_else(|| "—".into());
        let errors = match (&c.paused_reason, c.consecutive_failures, &c.last_error) {
            (Some(reason), _, _) => format!("<span class=\"bad\">paused: {}</span>", esc(reason)),
            (None, n, Some(e)) if n > 0 => {
                format!("<span class=\"bad\">{n} failure(s): {}</span>", esc(e))
            }
            _ => "<span class=\"ok\">none</span>".into(),
        };
        let _ = write!(
            out,
            "<tr><td><span class=\"dot\" style=\"background:{colour}\"></span>{role}</td><td>{name}<br><span class=\"muted\">{id}</span></td>\
             <td>{channel}</td><td>{last}</td><td>{delay}</td><td>{errors}</td></tr>",
            colour = esc(colour),
            role = esc(&c.role),
            name = esc(&c.name),
            id = esc(&c.id),
            last = ago(c.last_success, now),
        );
    }
    out.push_str("</table>");
    let _ = write!(
        out,
        "<p>Outbox: {} waiting, {} parked.</p><h2>Sync delays, last 24 h</h2>{}",
        snap.outbox_depth,
        snap.outbox_parked,
        chart(&snap.delays, now)
    );
    let _ = write!(out, "<h2>Open conflicts ({})</h2>", snap.conflicts.len());
    if snap.conflicts.is_empty() {
        out.push_str("<p class=\"muted\">None.</p>");
    } else {
        out.push_str("<table id=\"conflicts\"><tr><th>detected</th><th>calendar</th><th>winner</th><th>keep</th></tr>");
        for c in &snap.conflicts {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td><form method=\"post\" action=\"/status/conflicts/{id}/resolve\">\
                 <button name=\"keep\" value=\"local\">keep local</button><button name=\"keep\" value=\"google\">keep Google</button></form></td></tr>",
                ago(Some(c.detected_at), now),
                esc(&c.calendar_id),
                esc(&c.winner),
                id = c.id,
            );
        }
        out.push_str("</table>");
    }
    out.push_str("<form method=\"post\" action=\"/logout\"><button>Sign out</button></form>");
    out
}

/// Delay (log scale, 1 ms–60 s) against time over the last day, as inline SVG.
fn chart(points: &[DelayPoint], now: DateTime<Utc>) -> String {
    const W: f64 = 720.0;
    const H: f64 = 160.0;
    if points.is_empty() {
        return "<p class=\"muted\">No change synced in the last 24 hours.</p>".into();
    }
    let y = |ms: f64| {
        let l = ms.clamp(1.0, 60_000.0).log10() / 60_000f64.log10();
        H - 10.0 - l * (H - 20.0)
    };
    let mut svg = format!(
        "<svg id=\"delays\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"sync delays\">"
    );
    for (ms, label) in [(10.0, "10 ms"), (1000.0, "1 s"), (60_000.0, "60 s")] {
        let _ = write!(
            svg,
            "<line x1=\"0\" x2=\"{W}\" y1=\"{0:.1}\" y2=\"{0:.1}\" stroke=\"#eee\"/><text x=\"4\" y=\"{1:.1}\" font-size=\"10\" fill=\"#777\">{label}</text>",
            y(ms),
            y(ms) - 2.0
        );
    }
    for p in points {
        let age = (now - p.at).num_seconds().clamp(0, 86_400) as f64;
        let x = 6.0 + (W - 12.0) * (1.0 - age / 86_400.0);
        let _ = write!(
            svg,
            "<circle cx=\"{x:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"#3367d6\"/>",
            y(p.delay_ms)
        );
    }
    svg.push_str("</svg>");
    let mut sorted: Vec<f64> = points.iter().map(|p| p.delay_ms).collect();
    sorted.sort_by(f64::total_cmp);
    let pct = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    let _ = write!(
        svg,
        "<p>{} syncs; p50 {:.0} ms, p99 {:.0} ms.</p>",
        sorted.len(),
        pct(0.5),
        pct(0.99)
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_places_points_and_reports_percentiles() {
        let now = Utc::now();
        let pts: Vec<DelayPoint> = (1..=100)
            .map(|i| DelayPoint {
                at: now - chrono::Duration::minutes(i),
                delay_ms: i as f64,
            })
            .collect();
        let svg = chart(&pts, now);
        assert_eq!(svg.matches("<circle").count(), 100);
        assert!(svg.contains("p50 51 ms, p99 99 ms"), "{svg}");
    }

    #[test]
    fn page_escapes_calendar_names() {
        let snap = Snapshot {
            calendars: vec![crate::status::CalendarStatus {
                id: "x".into(),
                name: "<script>alert(1)</script>".into(),
                role: "medecin".into(),
                color: Some("#4285f4".into()),
                channel_state: None,
                channel_expires: None,
                last_success: None,
                last_delay_ms: None,
                consecutive_failures: 0,
                paused_reason: None,
                last_error: None,
            }],
            ..Snapshot::default()
        };
        let html = render(&snap, Utc::now());
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
    }
}
