//! The texts sent to Telegram (HTML parse mode): event added, event modified, system alert.

use std::fmt::Write as _;

use super::event::EventSummary;
use super::format::{Locale, casquette_label, escape_html, format_when};
use super::truncate::{TELEGRAM_LIMIT, clip_escaped, fit_html, units};
use crate::sync::alerts::{Alert, login_flag, of_account};

struct Words {
    added: &'static str,
    modified: &'static str,
    changes: &'static str,
    title: &'static str,
    date: &'static str,
    time: &'static str,
    location: &'static str,
    casquette: &'static str,
    link: &'static str,
    untitled: &'static str,
    none: &'static str,
}

const FR: Words = Words {
    added: "✅ Événement ajouté à Google Calendar",
    modified: "🔄 Événement modifié dans Google Calendar",
    changes: "Modifications détectées :",
    title: "Titre :",
    date: "Date :",
    time: "Heure :",
    location: "Lieu :",
    casquette: "Casquette :",
    link: "Voir dans Google Calendar",
    untitled: "(Sans titre)",
    none: "(aucun)",
};

const EN: Words = Words {
    added: "✅ Event added to Google Calendar",
    modified: "🔄 Event modified in Google Calendar",
    changes: "Changes detected:",
    title: "Title:",
    date: "Date:",
    time: "Time:",
    location: "Location:",
    casquette: "Role:",
    link: "View in Google Calendar",
    untitled: "(No title)",
    none: "(none)",
};

fn words(locale: Locale) -> &'static Words {
    match locale {
        Locale::Fr => &FR,
        Locale::En => &EN,
    }
}

/// Each user text (title, location) escaped and clipped to `cap` units.
fn title(event: &EventSummary, w: &Words, cap: usize) -> String {
    if event.title.is_empty() {
        w.untitled.to_string()
    } else {
        clip_escaped(&event.title, cap)
    }
}

/// Renders with user texts uncut if the message fits Telegram's limit, else with tighter caps
/// on each of them; the last resort cuts the message itself (never inside an entity or a tag).
fn fitted(render: impl Fn(usize) -> String) -> String {
    for cap in [usize::MAX, 2000, 1000, 600, 300, 100] {
        let text = render(cap);
        if units(&text) <= TELEGRAM_LIMIT {
            return text;
        }
    }
    fit_html(&render(100), TELEGRAM_LIMIT)
}

fn when(event: &EventSummary, locale: Locale) -> String {
    escape_html(&format_when(
        &event.start,
        &event.end,
        event.time_zone,
        locale,
    ))
}

fn link_line(out: &mut String, link: Option<&str>, w: &Words) {
    if let Some(link) = link {
        let _ = write!(
            out,
            "\n\n🔗 <a href=\"{}\">{}</a>",
            escape_html(link),
            w.link
        );
    }
}

/// The seed's Actions-topic message, e.g.
/// "✅ Événement ajouté à Google Calendar\n\nTitre : Consultation cardio\n📆 Date : …".
pub fn event_added(event: &EventSummary, locale: Locale) -> String {
    fitted(|cap| added_with(event, locale, cap))
}

fn added_with(event: &EventSummary, locale: Locale, cap: usize) -> String {
    let w = words(locale);
    let mut out = format!(
        "{}\n\n{} {}\n📆 {} {}",
        w.added,
        w.title,
        title(event, w, cap),
        w.date,
        when(event, locale)
    );
    if let Some(location) = &event.location {
        let _ = write!(out, "\n📍 {} {}", w.location, clip_escaped(location, cap));
    }
    let casquette = casquette_label(&event.casquette, locale);
    if !casquette.is_empty() {
        let _ = write!(out, "\n🎭 {} {}", w.casquette, escape_html(&casquette));
    }
    link_line(&mut out, event.html_link.as_deref(), w);
    out
}

/// The seed's Email-topic message listing only what changed (title, time, location), with the
/// event's current title on top; `None` when none of these changed.
pub fn event_modified(
    before: &EventSummary,
    after: &EventSummary,
    locale: Locale,
) -> Option<String> {
    modified_with(before, after, locale, usize::MAX)?;
    Some(fitted(|cap| {
        modified_with(before, after, locale, cap).unwrap_or_default()
    }))
}

fn modified_with(
    before: &EventSummary,
    after: &EventSummary,
    locale: Locale,
    cap: usize,
) -> Option<String> {
    let w = words(locale);
    let mut changes: Vec<(&str, String, String)> = Vec::new();
    if before.title != after.title {
        changes.push((w.title, title(before, w, cap), title(after, w, cap)));
    }
    if before.start != after.start || before.end != after.end {
        changes.push((w.time, when(before, locale), when(after, locale)));
    }
    if before.location != after.location {
        let show = |l: &Option<String>| {
            l.as_deref()
                .map_or_else(|| w.none.to_string(), |l| clip_escaped(l, cap))
        };
        changes.push((w.location, show(&before.location), show(&after.location)));
    }
    if changes.is_empty() {
        return None;
    }
    let mut out = format!(
        "{}\n\n{} {}\n\n{}",
        w.modified,
        w.title,
        title(after, w, cap),
        w.changes
    );
    for (label, old, new) in changes {
        let _ = write!(out, "\n\n{label}\n❌ {old}\n✅ {new}");
    }
    let link = after.html_link.as_deref().or(before.html_link.as_deref());
    link_line(&mut out, link, w);
    Some(out)
}

/// A System-topic alert: the seed's French text (`Alert::text`) or its English version.
pub fn system_alert(alert: &Alert, locale: Locale) -> String {
    let text = match locale {
        Locale::Fr => alert.text(),
        Locale::En => alert_text_en(alert),
    };
    fit_html(&escape_html(&text), TELEGRAM_LIMIT)
}

/// English version of `Alert::text`.
pub fn alert_text_en(alert: &Alert) -> String {
    match alert {
        Alert::ConsecutiveFailures {
            account,
            failures,
            last_error,
            casquette,
            ..
        } => format!(
            "🚨 Google Calendar sync: {failures} consecutive failures ({casquette}{})\nLast error: {last_error}\nCheck the OAuth2 credentials and the config.",
            of_account(account, "account")
        ),
        Alert::CredentialsRejected { account, reason } => format!(
            "🚨 Google Calendar sync: credentials rejected ({reason}{})\nRun `calsync auth login{}` again.",
            of_account(account, "account"),
            login_flag(account)
        ),
        Alert::NoLiveChannel { casquette, .. } => format!(
            "🚨 Google Calendar sync: no live push channel ({casquette}); the fallback poll takes over."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::google::When;
    use chrono::TimeZone;
    use chrono_tz::Europe::Paris;

    fn event(h: u32, location: Option<&str>) -> EventSummary {
        let at = |h: u32| {
            When::At(
                Paris
                    .with_ymd_and_hms(2026, 2, 18, h, 0, 0)
                    .single()
                    .expect("unambiguous")
                    .to_utc(),
            )
        };
        EventSummary {
            title: "Réunion <pédagogique> & co".into(),
            start: at(h),
            end: at(h + 1),
            location: location.map(str::to_string),
            casquette: "enseignant".into(),
            html_link: Some("https://calendar.google.com/event?eid=a&b=1".into()),
            time_zone: Paris,
        }
    }

    #[test]
    fn added_is_escaped_and_links() {
        let text = event_added(&event(14, Some("Salle A")), Locale::Fr);
        assert_eq!(
            text,
            "✅ Événement ajouté à Google Calendar\n\n\
             Titre : Réunion &lt;pédagogique&gt; &amp; co\n\
             📆 Date : Mercredi 18 février 2026, 14h00-15h00\n\
             📍 Lieu : Salle A\n\
             🎭 Casquette : Enseignant\n\n\
             🔗 <a href=\"https://calendar.google.com/event?eid=a&amp;b=1\">Voir dans Google Calendar</a>"
        );
    }

    #[test]
    fn added_without_location_link_or_title() {
        let mut e = event(14, None);
        e.html_link = None;
        e.title = String::new();
        assert_eq!(
            event_added(&e, Locale::En),
            "✅ Event added to Google Calendar\n\nTitle: (No title)\n📆 Date: Wednesday 18 February 2026, 14:00-15:00\n🎭 Role: Teacher"
        );
    }

    #[test]
    fn modified_lists_only_changes() {
        let before = event(14, Some("Salle A"));
        assert_eq!(event_modified(&before, &before.clone(), Locale::Fr), None);
        let mut moved = before.clone();
        moved.location = None;
        let text = event_modified(&before, &moved, Locale::Fr).expect("a change");
        assert!(text.contains("Lieu :\n❌ Salle A\n✅ (aucun)"), "{text}");
        assert!(!text.contains("Heure"), "{text}");
        let mut renamed = before.clone();
        renamed.title = "Conseil".into();
        let text = event_modified(&before, &renamed, Locale::En).expect("a change");
        assert!(
            text.contains("Title: Conseil\n\nChanges detected:\n\nTitle:\n❌ Réunion &lt;pédagogique&gt; &amp; co\n✅ Conseil"),
            "{text}"
        );
    }

    #[test]
    fn alerts_in_both_languages() {
        let alert = Alert::ConsecutiveFailures {
            account: "default".into(),
            calendar_id: "primary".into(),
            casquette: "medecin".into(),
            failures: 3,
            last_error: "429 <Rate Limit Exceeded>".into(),
        };
        assert_eq!(
            system_alert(&alert, Locale::Fr),
            "🚨 Google Calendar sync: 3 échecs consécutifs (medecin)\nDernière erreur: 429 &lt;Rate Limit Exceeded&gt;\nVérifiez les credentials OAuth2 et la config."
        );
        assert_eq!(
            system_alert(&alert, Locale::En),
            "🚨 Google Calendar sync: 3 consecutive failures (medecin)\nLast error: 429 &lt;Rate Limit Exceeded&gt;\nCheck the OAuth2 credentials and the config."
        );
    }
}
