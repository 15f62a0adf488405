//! The HTML shell shared by the status page and its forms, in `maud` templates (escaped by default):
//! the page frame with its headers (no caching, a strict Content-Security-Policy), a notice page and
//! the sign-in page.

use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use maud::{DOCTYPE, Markup, PreEscaped, html};

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}\
th,td{border-bottom:1px solid #ddd;padding:.4em .8em;text-align:left}th{background:#f4f4f4}\
.dot{display:inline-block;width:.9em;height:.9em;border-radius:50%;vertical-align:middle;margin-right:.4em}\
.bad{color:#b00020}.ok{color:#0a7d32}.muted{color:#777}button{margin-right:.4em}svg{border:1px solid #ddd}";

/// A whole page around `body`.
pub(super) fn page(status: StatusCode, title: &str, body: Markup) -> HttpResponse {
    let doc = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body { (body) }
        }
    };
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"))
        .body(doc.into_string())
}

/// A page that says one thing that went wrong, with a link back when `back` is set.
pub(super) fn notice(status: StatusCode, title: &str, text: &str, back: bool) -> HttpResponse {
    page(
        status,
        title,
        html! {
            h1 { "calsync" }
            p.bad { (text) }
            @if back { p { a href="/" { "back" } } }
        },
    )
}

pub(super) fn login_page(message: Option<&str>) -> HttpResponse {
    page(
        StatusCode::UNAUTHORIZED,
        "calsync: sign in",
        html! {
            h1 { "calsync" }
            @if let Some(m) = message { p.bad { (m) } }
            form method="post" action="/login" {
                label {
                    "Admin token (" code { "calsync admin-token" } ")" br;
                    input name="token" type="password" size="60" autocomplete="off";
                }
                " "
                button type="submit" { "Sign in" }
            }
        },
    )
}
