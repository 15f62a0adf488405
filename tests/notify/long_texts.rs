//! Long titles and locations: every message Telegram receives fits its 4,096-character limit,
//! counted after HTML escaping, with no entity or tag cut and the link kept.

use std::time::Duration;

use calsync::notify::Enqueued;
use calsync_testkit::FakeTelegram;

use crate::{LINK, consultation, fast_options, meeting_before_after, settings, started};

const WAIT: Duration = Duration::from_secs(5);

/// Telegram's own count: UTF-16 code units (here over the HTML, which is never less).
fn units(s: &str) -> usize {
    s.encode_utf16().count()
}

fn assert_well_formed(text: &str) {
    assert!(units(text) <= 4096, "{} units", units(text));
    assert_eq!(text.matches('<').count(), text.matches('>').count());
    // Every `&` starts a whole entity.
    for (i, _) in text.match_indices('&') {
        let rest = &text[i..];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;"]
                .iter()
                .any(|e| rest.starts_with(e)),
            "cut entity at {i}"
        );
    }
    assert!(
        text.ends_with(&format!("<a href=\"{LINK}\">Voir dans Google Calendar</a>")),
        "the link survives"
    );
}

#[tokio::test]
async fn long_titles_and_locations_are_truncated_within_the_limit() {
    let fake = FakeTelegram::start().await;
    let (notifier, stop) = started(&settings(&fake.base_url, "fr"), fast_options());
    // 3,000 characters that escape to 5 each ("&amp;"), and emoji counted twice by Telegram.
    let long = format!("{}{}", "&".repeat(3000), "😀".repeat(500));
    let mut added = consultation();
    added.title = long.clone();
    added.location = Some(long.clone());
    assert_eq!(notifier.notify_event_added(&added), Enqueued::Queued);
    // "modified" repeats the title three times, the location twice.
    let (mut before, mut after) = meeting_before_after();
    before.title = format!("<{long}");
    after.title = format!(">{long}");
    before.location = Some(long.clone());
    assert_eq!(
        notifier.notify_event_modified(&before, &after),
        Enqueued::Queued
    );
    let reqs = fake.wait_for(2, WAIT).await;
    for r in &reqs {
        let text = r.body["text"].as_str().expect("text");
        assert_well_formed(text);
        assert!(text.contains('…'), "the cut is marked");
    }
    let modified = reqs[1].body["text"].as_str().expect("text");
    assert!(
        modified.contains("Titre :\n❌ &lt;&amp;"),
        "{}",
        &modified[..200]
    );
    assert!(modified.contains("✅ &gt;&amp;"), "both versions are shown");
    stop.cancel();
}
