//! Google Calendar API client: credentials, typed requests, retries and quota.
