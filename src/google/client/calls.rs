//! The Calendar API calls calsync makes (events list, get, insert, patch, delete, watch; channels
//! stop; the calendar list), each one request through [`GoogleClient`]'s limiter and retries.

use reqwest::Method;
use serde_json::Value;

use super::{GoogleClient, seg};
use crate::google::error::GoogleError;
use crate::google::types::{Channel, EventsPage, ListParams, WatchRequest};

impl GoogleClient {
    pub async fn list_events(
        &self,
        calendar_id: &str,
        params: &ListParams,
    ) -> Result<EventsPage, GoogleError> {
        let path = format!("/calendars/{}/events", seg(calendar_id));
        let (mut page, at): (EventsPage, _) = self
            .json_at(Method::GET, &path, &params.query(), None, None)
            .await?;
        page.requested_at = Some(at);
        Ok(page)
    }

    pub async fn get_event(&self, calendar_id: &str, event_id: &str) -> Result<Value, GoogleError> {
        let path = format!("/calendars/{}/events/{}", seg(calendar_id), seg(event_id));
        self.json(Method::GET, &path, &[], None, None).await
    }

    pub async fn insert_event(
        &self,
        calendar_id: &str,
        body: &Value,
    ) -> Result<Value, GoogleError> {
        let path = format!("/calendars/{}/events", seg(calendar_id));
        self.json(
            Method::POST,
            &path,
            &[("sendUpdates", "none".into())],
            Some(body),
            None,
        )
        .await
    }

    pub async fn patch_event(
        &self,
        calendar_id: &str,
        event_id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<Value, GoogleError> {
        let path = format!("/calendars/{}/events/{}", seg(calendar_id), seg(event_id));
        self.json(
            Method::PATCH,
            &path,
            &[("sendUpdates", "none".into())],
            Some(body),
            if_match,
        )
        .await
    }

    pub async fn delete_event(
        &self,
        calendar_id: &str,
        event_id: &str,
        if_match: Option<&str>,
    ) -> Result<(), GoogleError> {
        let path = format!("/calendars/{}/events/{}", seg(calendar_id), seg(event_id));
        self.call(
            Method::DELETE,
            &path,
            &[("sendUpdates", "none".into())],
            None,
            if_match,
        )
        .await
        .map(|_| ())
    }

    pub async fn watch_events(
        &self,
        calendar_id: &str,
        request: &WatchRequest,
    ) -> Result<Channel, GoogleError> {
        let path = format!("/calendars/{}/events/watch", seg(calendar_id));
        let body =
            serde_json::to_value(request).map_err(|e| GoogleError::invalid_json(&path, &e))?;
        self.json(Method::POST, &path, &[], Some(&body), None).await
    }

    pub async fn stop_channel(
        &self,
        channel_id: &str,
        resource_id: &str,
    ) -> Result<(), GoogleError> {
        let body = serde_json::json!({"id": channel_id, "resourceId": resource_id});
        self.call(Method::POST, "/channels/stop", &[], Some(&body), None)
            .await
            .map(|_| ())
    }

    /// The calendars the credentials can see (`calsync auth status`).
    pub async fn calendar_list(&self) -> Result<Value, GoogleError> {
        self.json(Method::GET, "/users/me/calendarList", &[], None, None)
            .await
    }
}
