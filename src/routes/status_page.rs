//! `GET /`: the server-rendered status page (no front-end build; `maud` templates, escaped by default): calendars with role and colour,
//! channel expiry, last sync and its delay, errors, open conflicts with resolve buttons, and an SVG
//! chart of the last day's delays. Behind the admin token: a bearer header or the cookie `/login`
//! sets (`status_forms`: sign-in, logout and the resolve form).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use maud::{Markup, html};

use super::AppState;
use super::html_page::{self, login_page};
use crate::status::{CalendarStatus, DelayPoint, Snapshot};

pub async fn page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let claims = match super::status_forms::sign_in(&req, &state) {
        Ok(Some(claims)) => claims,
        Ok(None) => return login_page(None),
        Err(_) => return super::status_forms::too_many(),
    };
    // An account-scoped token sees its own account's rows only.
    match crate::status::full(&state.pool, state.settings.push.enabled, claims.account()).await {
        Ok(snap) => html_page::page(StatusCode::OK, "calsync status", render(&snap, Utc::now())),
        Err(e) => {
            tracing::warn!(error.cause = %e, "status page: database unavailable");
            html_page::notice(
                StatusCode::SERVICE_UNAVAILABLE,
                "calsync status",
                "The database is unavailable; retry in a moment.",
                false,
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

/// A calendar's colour when it is a plain `#rgb`-style hex value, grey otherwise.
fn colour(c: Option<&str>) -> &str {
    c.filter(|c| {
        c.len() <= 9
            && c.strip_prefix('#')
                .is_some_and(|h| h.chars().all(|ch| ch.is_ascii_hexdigit()))
    })
    .unwrap_or("#888")
}

fn channel(c: &CalendarStatus, now: DateTime<Utc>) -> Markup {
    match (&c.channel_state, c.channel_expires) {
        (Some(state), Some(exp)) if exp > now && c.push_health == "live" => {
            let left = exp - now;
            html! {
                span.ok { (state) }
                ", expires in " (left.num_hours()) " h " (left.num_minutes() % 60) " min"
            }
        }
        (Some(_), Some(exp)) if exp <= now => html! { span.bad { "expired" } },
        _ => {
            html! { span.bad { "poll" } " (" (c.push_reason.as_deref().unwrap_or_default()) ")" }
        }
    }
}

fn errors(c: &CalendarStatus) -> Markup {
    match (&c.paused_reason, c.consecutive_failures, &c.last_error) {
        (Some(reason), _, _) => html! { span.bad { "paused: " (reason) } },
        (None, n, Some(e)) if n > 0 => html! { span.bad { (n) " failure(s): " (e) } },
        _ => html! { span.ok { "none" } },
    }
}

fn render(snap: &Snapshot, now: DateTime<Utc>) -> Markup {
    html! {
        h1 { "calsync" }
        h2 { "Calendars" }
        table #calendars {
            tr { th { "casquette" } th { "calendar" } th { "channel" } th { "last sync" } th { "delay" } th { "errors" } }
            @for c in &snap.calendars {
                tr {
                    td {
                        span.dot style={ "background:" (colour(c.color.as_deref())) } {}
                        (c.casquette)
                        @if c.account != crate::config::DEFAULT_ACCOUNT {
                            br; span.muted { "account " (c.account) }
                        }
                    }
                    td { (c.name) br; span.muted { (c.id) } }
                    td { (channel(c, now)) }
                    td { (ago(c.last_success, now)) }
                    td {
                        @match c.last_delay_ms {
                            Some(d) => { (format!("{d:.0} ms")) }
                            None => { "—" }
                        }
                    }
                    td { (errors(c)) }
                }
            }
        }
        p { "Outbox: " (snap.outbox_depth) " waiting, " (snap.outbox_parked) " parked." }
        h2 { "Sync delays, last 24 h" }
        (chart(&snap.delays, now))
        h2 { "Open conflicts (" (snap.conflicts.len()) ")" }
        @if snap.conflicts.is_empty() {
            p.muted { "None." }
        } @else {
            table #conflicts {
                tr { th { "detected" } th { "calendar" } th { "winner" } th { "keep" } }
                @for c in &snap.conflicts {
                    tr {
                        td { (ago(Some(c.detected_at), now)) }
                        td { (c.calendar_id) }
                        td { (c.winner.as_str()) }
                        td {
                            form method="post" action={ "/status/conflicts/" (c.id) "/resolve" } {
                                button name="keep" value="local" { "keep local" }
                                button name="keep" value="google" { "keep Google" }
                            }
                        }
                    }
                }
            }
        }
        form method="post" action="/logout" { button { "Sign out" } }
    }
}

/// Delay (log scale, 1 ms–60 s) against time over the last day (an axis every 6 hours, labelled
/// in hours before now), as inline SVG.
fn chart(points: &[DelayPoint], now: DateTime<Utc>) -> Markup {
    const W: f64 = 720.0;
    const H: f64 = 176.0;
    /// Room under the plot for the time axis' labels.
    const AXIS: f64 = 16.0;
    if points.is_empty() {
        return html! { p.muted { "No change synced in the last 24 hours." } };
    }
    let y = |ms: f64| {
        let l = ms.clamp(1.0, 60_000.0).log10() / 60_000f64.log10();
        H - AXIS - 10.0 - l * (H - AXIS - 20.0)
    };
    let x_of_age = |age_secs: f64| 6.0 + (W - 12.0) * (1.0 - age_secs / 86_400.0);
    let x = |p: &DelayPoint| x_of_age((now - p.at).num_seconds().clamp(0, 86_400) as f64);
    let ticks = [
        (24, "−24 h", "start"),
        (18, "−18 h", "middle"),
        (12, "−12 h", "middle"),
        (6, "−6 h", "middle"),
        (0, "now", "end"),
    ];
    let mut sorted: Vec<f64> = points.iter().map(|p| p.delay_ms).collect();
    sorted.sort_by(f64::total_cmp);
    let pct = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    let f1 = |v: f64| format!("{v:.1}");
    html! {
        svg #delays width=(W) height=(H) viewBox={ "0 0 " (W) " " (H) } role="img" aria-label="sync delays" {
            @for (hours, label, anchor) in ticks {
                @let tx = f1(x_of_age(f64::from(hours) * 3600.0));
                line x1=(tx) x2=(tx) y1="0" y2=(f1(H - AXIS)) stroke="#eee" {}
                text x=(tx) y=(f1(H - 4.0)) font-size="10" fill="#777" text-anchor=(anchor) { (label) }
            }
            line x1="0" x2=(W) y1=(f1(H - AXIS)) y2=(f1(H - AXIS)) stroke="#ccc" {}
            @for (ms, label) in [(10.0, "10 ms"), (1000.0, "1 s"), (60_000.0, "60 s")] {
                line x1="0" x2=(W) y1=(f1(y(ms))) y2=(f1(y(ms))) stroke="#eee" {}
                text x="4" y=(f1(y(ms) - 2.0)) font-size="10" fill="#777" { (label) }
            }
            @for p in points {
                circle cx=(f1(x(p))) cy=(f1(y(p.delay_ms))) r="2.5" fill="#3367d6" {}
            }
        }
        p { (sorted.len()) " syncs; p50 " (format!("{:.0}", pct(0.5))) " ms, p99 " (format!("{:.0}", pct(0.99))) " ms." }
    }
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
        let svg = chart(&pts, now).into_string();
        assert_eq!(svg.matches("<circle").count(), 100);
        assert!(svg.contains("p50 51 ms, p99 99 ms"), "{svg}");
        // The time axis: a labelled tick every 6 hours, oldest on the left.
        let labels: Vec<usize> = ["−24 h", "−18 h", "−12 h", "−6 h", "now"]
            .iter()
            .map(|l| {
                svg.find(&format!(">{l}</text>"))
                    .unwrap_or_else(|| panic!("{l}: {svg}"))
            })
            .collect();
        assert!(labels.windows(2).all(|w| w[0] < w[1]), "{labels:?}");
        assert!(svg.contains(r#"<text x="6.0" y="172.0""#), "{svg}");
    }

    #[test]
    fn page_escapes_calendar_names() {
        let snap = Snapshot {
            calendars: vec![crate::status::CalendarStatus {
                id: "x".into(),
                name: "<script>alert(1)</script>".into(),
                casquette: "medecin".into(),
                account: "default".into(),
                color: Some("#4285f4".into()),
                channel_state: None,
                channel_expires: None,
                last_success: None,
                last_delay_ms: None,
                consecutive_failures: 0,
                paused_reason: None,
                last_error: None,
                push_health: "none".into(),
                push_reason: None,
            }],
            ..Snapshot::default()
        };
        let html = render(&snap, Utc::now()).into_string();
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
    }
}
