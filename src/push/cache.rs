//! An in-memory cache of active channels for the webhook: a push costs no channel lookup in
//! PostgreSQL. Only active channels (with their resource id) are cached, for a short time, so a
//! channel stopped on another replica is forgotten within `TTL`; unknown ids always ask the database.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use sqlx::PgPool;

use crate::db::watch_channels::{self as channels, ChannelInfo};

/// How long a cached active channel is trusted without asking the database again.
const TTL: Duration = Duration::from_secs(30);
/// Bound on the number of cached channels (thousands of calendars fit; a flood of forged ids never enters).
const MAX_ENTRIES: usize = 100_000;

#[derive(Default)]
pub struct ChannelCache {
    entries: RwLock<HashMap<String, (ChannelInfo, Instant)>>,
}

impl ChannelCache {
    /// The channel, from memory when fresh, else from the database (and remembered when active).
    pub async fn lookup(
        &self,
        pool: &PgPool,
        channel_id: &str,
    ) -> Result<Option<ChannelInfo>, sqlx::Error> {
        {
            let map = self.entries.read().unwrap_or_else(|p| p.into_inner());
            if let Some((info, at)) = map.get(channel_id)
                && at.elapsed() < TTL
            {
                return Ok(Some(info.clone()));
            }
        }
        let found = channels::lookup(pool, channel_id).await?;
        let mut map = self.entries.write().unwrap_or_else(|p| p.into_inner());
        match &found {
            Some(info) if info.state == "active" && info.resource_id.is_some() => {
                if map.len() >= MAX_ENTRIES {
                    map.retain(|_, (_, at)| at.elapsed() < TTL);
                }
                if map.len() < MAX_ENTRIES {
                    map.insert(channel_id.to_string(), (info.clone(), Instant::now()));
                }
            }
            _ => {
                map.remove(channel_id);
            }
        }
        Ok(found)
    }

    /// Forgets a channel this replica stopped or replaced.
    pub fn forget(&self, channel_id: &str) {
        self.entries
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(channel_id);
    }
}
