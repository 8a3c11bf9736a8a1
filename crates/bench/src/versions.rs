//! The client id of the bench. Its API ranges are `wharf_client::versions::PRODUCE` and
//! `FETCH`: Produce from v3 (record batch v2) and Fetch up to v11 (v13+ addresses topics by id,
//! which the bench does not track).

/// Client id in every request header of the bench.
pub const CLIENT_ID: &str = "wharf-bench";
