//! Every branch of `decide`, on both meetings, and the time rule under it.

use super::*;

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn content(summary: &str) -> Content<'_> {
    Content {
        live: true,
        summary: Some(summary),
        description: None,
        location: None,
        start_at: Some(t("2026-12-01T09:00:00Z")),
        end_at: Some(t("2026-12-01T10:00:00Z")),
        start_date: None,
        end_date: None,
    }
}

const LOCAL_AT: &str = "2026-12-01T10:00:00Z";

/// A local change "local" made at `LOCAL_AT` from the Google version of etag "1", against
/// Google's version of etag `etag`, content `summary`, timed `time`.
fn sides<'a>(met: Met, etag: &'a str, summary: &'a str, time: Option<&str>) -> Sides<'a> {
    Sides {
        met,
        local: Local {
            updated_at: t(LOCAL_AT),
            etag: Some("1"),
            content: content("local"),
        },
        google: Google {
            etag: Some(etag),
            content: content(summary),
            time: time.map(t),
        },
    }
}

const OLDER: Option<&str> = Some("2026-12-01T09:59:59Z");
const NEWER: Option<&str> = Some("2026-12-01T10:00:01Z");
const SAME: Option<&str> = Some(LOCAL_AT);

#[test]
fn the_newer_side_wins_and_a_tie_goes_to_google() {
    let local = t("2026-12-01T10:00:00Z");
    assert_eq!(newer(local, Some(t("2026-12-01T09:59:59Z"))), Winner::Local);
    assert_eq!(
        newer(local, Some(t("2026-12-01T10:00:01Z"))),
        Winner::Google
    );
    assert_eq!(newer(local, Some(local)), Winner::Google);
    assert_eq!(newer(local, None), Winner::Local);
}

#[test]
fn listed_same_etag_is_unchanged_whatever_the_times() {
    for time in [OLDER, NEWER, None] {
        assert_eq!(
            decide(&sides(Met::Listed, "1", "theirs", time)),
            Decision::Unchanged
        );
    }
    // No stored etag: nothing to compare, so never "unchanged".
    let mut s = sides(Met::Listed, "1", "theirs", NEWER);
    s.local.etag = None;
    s.google.etag = None;
    assert_eq!(decide(&s), Decision::GoogleWins);
}

#[test]
fn listed_same_content_is_an_echo_whatever_the_times() {
    for time in [OLDER, NEWER, SAME, None] {
        assert_eq!(
            decide(&sides(Met::Listed, "2", "local", time)),
            Decision::Echo
        );
    }
    let mut deleted_there = sides(Met::Listed, "2", "local", OLDER);
    deleted_there.google.content.live = false;
    assert_eq!(decide(&deleted_there), Decision::LocalWins);
}

#[test]
fn listed_other_content_goes_to_the_newer_side() {
    let d = |time| decide(&sides(Met::Listed, "2", "theirs", time));
    assert_eq!(d(OLDER), Decision::LocalWins);
    assert_eq!(d(NEWER), Decision::GoogleWins);
    assert_eq!(d(SAME), Decision::GoogleWins);
    assert_eq!(d(None), Decision::LocalWins);
}

#[test]
fn refused_echo_needs_the_stamp_of_this_very_change() {
    assert_eq!(
        decide(&sides(Met::Refused, "2", "local", SAME)),
        Decision::Echo
    );
    // Same content but another version's time: the newer side wins, as for any edit.
    assert_eq!(
        decide(&sides(Met::Refused, "2", "local", OLDER)),
        Decision::LocalWins
    );
    assert_eq!(
        decide(&sides(Met::Refused, "2", "local", NEWER)),
        Decision::GoogleWins
    );
    assert_eq!(
        decide(&sides(Met::Refused, "2", "local", None)),
        Decision::LocalWins
    );
}

#[test]
fn refused_ignores_etags_and_goes_to_the_newer_side() {
    // Google refused the stored etag: an equal one says nothing.
    let d = |etag, time| decide(&sides(Met::Refused, etag, "theirs", time));
    assert_eq!(d("1", OLDER), Decision::LocalWins);
    assert_eq!(d("1", NEWER), Decision::GoogleWins);
    assert_eq!(d("2", SAME), Decision::GoogleWins);
    assert_eq!(d("2", None), Decision::LocalWins);
}

#[test]
fn each_decision_names_its_winner() {
    assert_eq!(Decision::Unchanged.winner(), None);
    assert_eq!(Decision::Echo.winner(), None);
    assert_eq!(Decision::LocalWins.winner(), Some(Winner::Local));
    assert_eq!(Decision::GoogleWins.winner(), Some(Winner::Google));
}
