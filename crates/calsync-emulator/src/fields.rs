//! `fields=` partial responses, Google's syntax: `a,b`, nested `a/b`, sub-selections `items(id,summary)`,
//! and `*` for every field of a level. A field the resource lacks is left out, not refused.

use std::collections::{BTreeMap, HashMap};

use actix_web::HttpResponse;
use serde_json::{Map, Value};

use super::errors;

/// A selection: field name → what to keep of it (`None`: all of it).
#[derive(Debug, Default, Clone, PartialEq)]
struct Selection(BTreeMap<String, Option<Selection>>);

impl Selection {
    fn add(&mut self, path: &[&str], sub: Option<Selection>) {
        let Some((head, rest)) = path.split_first() else {
            return;
        };
        let slot = self
            .0
            .entry((*head).to_string())
            .or_insert(Some(Selection::default()));
        if rest.is_empty() {
            match (slot.as_mut(), sub) {
                (Some(have), Some(more)) if !have.0.is_empty() => have.0.extend(more.0),
                (_, sub) => *slot = sub,
            }
        } else if let Some(inner) = slot.as_mut() {
            inner.add(rest, sub);
        }
    }
}

/// Parses `s` from `*pos` up to a `)` or the end.
fn parse(s: &[u8], pos: &mut usize, nested: bool) -> Option<Selection> {
    let mut sel = Selection::default();
    loop {
        let start = *pos;
        while *pos < s.len() && !matches!(s[*pos], b',' | b'(' | b')') {
            *pos += 1;
        }
        let name = std::str::from_utf8(&s[start..*pos]).ok()?.trim();
        let path: Vec<&str> = name.split('/').collect();
        if name.is_empty() || path.iter().any(|p| p.is_empty()) {
            return None;
        }
        let sub = if s.get(*pos) == Some(&b'(') {
            *pos += 1;
            let inner = parse(s, pos, true)?;
            if s.get(*pos) != Some(&b')') {
                return None;
            }
            *pos += 1;
            Some(inner)
        } else {
            None
        };
        sel.add(&path, sub);
        match s.get(*pos) {
            Some(b',') => *pos += 1,
            Some(b')') if nested => return Some(sel),
            None if !nested => return Some(sel),
            _ => return None,
        }
    }
}

fn select(v: Value, sel: &Selection) -> Value {
    match v {
        Value::Array(items) => Value::Array(items.into_iter().map(|i| select(i, sel)).collect()),
        Value::Object(obj) => {
            let mut out = Map::new();
            let all = sel.0.get("*");
            for (k, val) in obj {
                match sel.0.get(&k).or(all) {
                    Some(None) => {
                        out.insert(k, val);
                    }
                    Some(Some(inner)) => {
                        out.insert(k, select(val, inner));
                    }
                    None => {}
                }
            }
            Value::Object(out)
        }
        other => other,
    }
}

/// Applies the request's `fields` parameter, if any, to a response body.
pub fn apply(body: Value, q: &HashMap<String, String>) -> Result<Value, HttpResponse> {
    let Some(spec) = q.get("fields").map(|f| f.trim()).filter(|f| !f.is_empty()) else {
        return Ok(body);
    };
    let sel = parse(spec.as_bytes(), &mut 0, false).ok_or_else(|| {
        errors::google_error(
            400,
            "global",
            "invalidParameter",
            &format!("Invalid field selection {spec}"),
        )
    })?;
    Ok(select(body, &sel))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(spec: &str, v: Value) -> Value {
        let q = HashMap::from([("fields".to_string(), spec.to_string())]);
        apply(v, &q).unwrap_or(Value::Null)
    }

    #[test]
    fn googles_syntax() {
        let v = json!({"items": [{"id": "a", "summary": "s", "start": {"dateTime": "x", "timeZone": "z"}}],
                       "nextPageToken": "p", "kind": "k"});
        assert_eq!(
            run("items(id,summary),nextPageToken", v.clone()),
            json!({"items": [{"id": "a", "summary": "s"}], "nextPageToken": "p"})
        );
        assert_eq!(
            run("items/start/dateTime", v.clone()),
            json!({"items": [{"start": {"dateTime": "x"}}]})
        );
        assert_eq!(run("kind,items(*)", v.clone())["items"], v["items"]);
        assert_eq!(run("*", v.clone()), v);
        let q = HashMap::from([("fields".to_string(), "items(id".to_string())]);
        assert!(apply(v, &q).is_err());
    }
}
