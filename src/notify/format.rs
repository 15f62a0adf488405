//! French (default) and English rendering of dates, times and role names, plus HTML escaping for Telegram.

use chrono::{Datelike, NaiveDate, Timelike};
use chrono_tz::Tz;

use crate::google::When;

/// Language of the messages (`telegram.locale`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Locale {
    /// The seed's language, and the default.
    #[default]
    Fr,
    En,
}

impl Locale {
    /// `"en"`, `"en-GB"`, `"en_US"`… (any case) give English; anything else gives French.
    pub fn from_setting(value: &str) -> Self {
        let v = value.trim().to_ascii_lowercase();
        if v == "en" || v.starts_with("en-") || v.starts_with("en_") {
            Self::En
        } else {
            Self::Fr
        }
    }
}

const FR_DAYS: [&str; 7] = [
    "Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi", "Dimanche",
];
const EN_DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const FR_MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];
const EN_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// "Mardi 17 février 2026" / "Tuesday 17 February 2026" ("Dimanche 1er mars 2026" in French).
pub fn format_date(date: NaiveDate, locale: Locale) -> String {
    let weekday = date.weekday().num_days_from_monday() as usize;
    let month = date.month0() as usize;
    match locale {
        Locale::Fr => {
            let day = match date.day() {
                1 => "1er".to_string(),
                d => d.to_string(),
            };
            format!(
                "{} {day} {} {}",
                FR_DAYS[weekday],
                FR_MONTHS[month],
                date.year()
            )
        }
        Locale::En => format!(
            "{} {} {} {}",
            EN_DAYS[weekday],
            date.day(),
            EN_MONTHS[month],
            date.year()
        ),
    }
}

/// "14h00" / "14:00".
pub fn format_time(hour: u32, minute: u32, locale: Locale) -> String {
    match locale {
        Locale::Fr => format!("{hour:02}h{minute:02}"),
        Locale::En => format!("{hour:02}:{minute:02}"),
    }
}

/// When an event happens, in `tz` for timed events:
/// "Mardi 17 février 2026, 14h00-15h00"; all-day: "Mardi 17 février 2026";
/// several days: "Mardi 17 février 2026 → Jeudi 19 février 2026" (Google's all-day end date is exclusive)
/// or "Mardi 17 février 2026, 22h00 → Mercredi 18 février 2026, 02h00".
pub fn format_when(start: &When, end: &When, tz: Tz, locale: Locale) -> String {
    match (start, end) {
        (When::Day(s), When::Day(e)) => {
            let last = e.pred_opt().unwrap_or(*e);
            if last <= *s {
                format_date(*s, locale)
            } else {
                format!(
                    "{} → {}",
                    format_date(*s, locale),
                    format_date(last, locale)
                )
            }
        }
        (When::At(s), When::At(e)) => {
            let s = s.with_timezone(&tz);
            let e = e.with_timezone(&tz);
            let (s_day, e_day) = (s.date_naive(), e.date_naive());
            let start_time = format_time(s.hour(), s.minute(), locale);
            let end_time = format_time(e.hour(), e.minute(), locale);
            let ends_at_next_midnight =
                Some(e_day) == s_day.succ_opt() && e.hour() == 0 && e.minute() == 0;
            if e <= s {
                format!("{}, {start_time}", format_date(s_day, locale))
            } else if e_day == s_day || ends_at_next_midnight {
                format!("{}, {start_time}-{end_time}", format_date(s_day, locale))
            } else {
                format!(
                    "{}, {start_time} → {}, {end_time}",
                    format_date(s_day, locale),
                    format_date(e_day, locale)
                )
            }
        }
        // Mixed shapes (not valid at Google, rendered anyway): each side on its own.
        _ => format!(
            "{} → {}",
            format_point(start, tz, locale),
            format_point(end, tz, locale)
        ),
    }
}

fn format_point(point: &When, tz: Tz, locale: Locale) -> String {
    match point {
        When::Day(d) => format_date(*d, locale),
        When::At(t) => {
            let t = t.with_timezone(&tz);
            format!(
                "{}, {}",
                format_date(t.date_naive(), locale),
                format_time(t.hour(), t.minute(), locale)
            )
        }
    }
}

/// The seed's role names ("Médecin", "Enseignant", "Chercheur"; translated in English);
/// any other role is shown capitalised.
pub fn casquette_label(casquette: &str, locale: Locale) -> String {
    let trimmed = casquette.trim();
    let known = match trimmed.to_lowercase().as_str() {
        "medecin" | "médecin" => Some(("Médecin", "Doctor")),
        "enseignant" => Some(("Enseignant", "Teacher")),
        "chercheur" => Some(("Chercheur", "Researcher")),
        _ => None,
    };
    match (known, locale) {
        (Some((fr, _)), Locale::Fr) => fr.to_string(),
        (Some((_, en)), Locale::En) => en.to_string(),
        (None, _) => capitalise(trimmed),
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Escapes text for Telegram's HTML parse mode (`&`, `<`, `>`, and `"` for attribute values).
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use chrono_tz::Europe::Paris;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> When {
        let local = Paris
            .with_ymd_and_hms(y, mo, d, h, mi, 0)
            .single()
            .expect("unambiguous test time");
        When::At(local.with_timezone(&Utc))
    }

    #[test]
    fn seed_sample_in_french() {
        let when = format_when(
            &at(2026, 2, 17, 14, 0),
            &at(2026, 2, 17, 15, 0),
            Paris,
            Locale::Fr,
        );
        assert_eq!(when, "Mardi 17 février 2026, 14h00-15h00");
    }

    #[test]
    fn same_event_in_english() {
        let when = format_when(
            &at(2026, 2, 17, 14, 0),
            &at(2026, 2, 17, 15, 0),
            Paris,
            Locale::En,
        );
        assert_eq!(when, "Tuesday 17 February 2026, 14:00-15:00");
    }

    #[test]
    fn times_are_shown_in_the_event_zone() {
        // 13:00Z is 14:00 in Paris in winter, 08:00 in New York.
        let s = When::At(Utc.with_ymd_and_hms(2026, 2, 17, 13, 0, 0).unwrap());
        let e = When::At(Utc.with_ymd_and_hms(2026, 2, 17, 14, 30, 0).unwrap());
        assert_eq!(
            format_when(&s, &e, Paris, Locale::Fr),
            "Mardi 17 février 2026, 14h00-15h30"
        );
        assert_eq!(
            format_when(&s, &e, chrono_tz::America::New_York, Locale::Fr),
            "Mardi 17 février 2026, 08h00-09h30"
        );
        // Summer time: 07:05Z is 09:05 in Paris.
        let s = When::At(Utc.with_ymd_and_hms(2026, 7, 14, 7, 5, 0).unwrap());
        let e = When::At(Utc.with_ymd_and_hms(2026, 7, 14, 8, 0, 0).unwrap());
        assert_eq!(
            format_when(&s, &e, Paris, Locale::En),
            "Tuesday 14 July 2026, 09:05-10:00"
        );
    }

    #[test]
    fn all_day_events_show_the_date_only() {
        let s = When::Day(date(2026, 2, 17));
        let e = When::Day(date(2026, 2, 18));
        assert_eq!(
            format_when(&s, &e, Paris, Locale::Fr),
            "Mardi 17 février 2026"
        );
        assert_eq!(
            format_when(&s, &e, Paris, Locale::En),
            "Tuesday 17 February 2026"
        );
        // A degenerate end (same day) is still one day.
        assert_eq!(
            format_when(&s, &s, Paris, Locale::Fr),
            "Mardi 17 février 2026"
        );
    }

    #[test]
    fn multi_day_events_use_an_arrow() {
        let s = When::Day(date(2026, 2, 17));
        let e = When::Day(date(2026, 2, 20));
        assert_eq!(
            format_when(&s, &e, Paris, Locale::Fr),
            "Mardi 17 février 2026 → Jeudi 19 février 2026"
        );
        assert_eq!(
            format_when(
                &at(2026, 2, 17, 22, 0),
                &at(2026, 2, 18, 2, 30),
                Paris,
                Locale::Fr
            ),
            "Mardi 17 février 2026, 22h00 → Mercredi 18 février 2026, 02h30"
        );
        assert_eq!(
            format_when(
                &at(2026, 2, 17, 22, 0),
                &at(2026, 2, 18, 2, 30),
                Paris,
                Locale::En
            ),
            "Tuesday 17 February 2026, 22:00 → Wednesday 18 February 2026, 02:30"
        );
    }

    #[test]
    fn ending_at_midnight_stays_on_one_day() {
        assert_eq!(
            format_when(
                &at(2026, 2, 17, 23, 0),
                &at(2026, 2, 18, 0, 0),
                Paris,
                Locale::Fr
            ),
            "Mardi 17 février 2026, 23h00-00h00"
        );
    }

    #[test]
    fn first_of_the_month_and_every_day_name() {
        assert_eq!(
            format_date(date(2026, 3, 1), Locale::Fr),
            "Dimanche 1er mars 2026"
        );
        assert_eq!(
            format_date(date(2026, 3, 1), Locale::En),
            "Sunday 1 March 2026"
        );
        let fr: Vec<String> = (16..=22)
            .map(|d| format_date(date(2026, 2, d), Locale::Fr))
            .collect();
        assert_eq!(
            fr,
            [
                "Lundi 16 février 2026",
                "Mardi 17 février 2026",
                "Mercredi 18 février 2026",
                "Jeudi 19 février 2026",
                "Vendredi 20 février 2026",
                "Samedi 21 février 2026",
                "Dimanche 22 février 2026",
            ]
        );
        assert_eq!(
            format_date(date(2026, 8, 15), Locale::Fr),
            "Samedi 15 août 2026"
        );
        assert_eq!(
            format_date(date(2026, 12, 31), Locale::Fr),
            "Jeudi 31 décembre 2026"
        );
        assert_eq!(format_time(9, 5, Locale::Fr), "09h05");
        assert_eq!(format_time(9, 5, Locale::En), "09:05");
    }

    #[test]
    fn role_names() {
        assert_eq!(casquette_label("medecin", Locale::Fr), "Médecin");
        assert_eq!(casquette_label("enseignant", Locale::Fr), "Enseignant");
        assert_eq!(casquette_label("chercheur", Locale::Fr), "Chercheur");
        assert_eq!(casquette_label("medecin", Locale::En), "Doctor");
        assert_eq!(casquette_label("chercheur", Locale::En), "Researcher");
        assert_eq!(casquette_label("enseignant", Locale::En), "Teacher");
        assert_eq!(casquette_label("écrivain", Locale::Fr), "Écrivain");
        assert_eq!(casquette_label("coach", Locale::En), "Coach");
        assert_eq!(casquette_label("", Locale::Fr), "");
    }

    #[test]
    fn locale_setting() {
        assert_eq!(Locale::from_setting("fr"), Locale::Fr);
        assert_eq!(Locale::from_setting("EN"), Locale::En);
        assert_eq!(Locale::from_setting("en-GB"), Locale::En);
        assert_eq!(Locale::from_setting("de"), Locale::Fr);
        assert_eq!(Locale::from_setting(""), Locale::Fr);
    }

    #[test]
    fn html_escaping() {
        assert_eq!(
            escape_html(r#"R&D <b>"x"</b>"#),
            "R&amp;D &lt;b&gt;&quot;x&quot;&lt;/b&gt;"
        );
    }
}
