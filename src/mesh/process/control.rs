//! What the coordinator and a replica process say to each other: one JSON object a line,
//! commands on the replica's standard input, replies on its standard output. A replica
//! first says `{"ready":{"port":P}}`, then answers every command with one line, in order.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// What the coordinator asks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Command {
    /// Make these local writes, in order: (document, value tag).
    Write { writes: Vec<(usize, u64)> },
    /// Sync with the replica `peer` listening at `addr`, starting the session, for the
    /// `sync`th time on this link.
    Sync {
        addr: SocketAddr,
        peer: usize,
        sync: u64,
    },
    /// The running totals.
    Stats,
    /// The digest of every document.
    Digests,
    /// Check the store, say what was measured, close and exit.
    Finish,
}

impl Command {
    /// What a replica is doing while it carries the command out, as an error says it.
    pub(crate) fn doing(&self) -> String {
        match self {
            Command::Write { writes } => format!("making {} writes", writes.len()),
            Command::Sync { addr, peer, sync } => {
                format!("syncing with replica {peer} at {addr} (sync {sync} of that link)")
            }
            Command::Stats => "reporting its totals".into(),
            Command::Digests => "reading its documents".into(),
            Command::Finish => "checking and closing its store".into(),
        }
    }
}

/// What a replica answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Reply {
    /// Listening on 127.0.0.1:`port`, store open.
    Ready { port: u16 },
    /// The writes are made.
    Wrote,
    /// The link settled: messages and bytes both sides sent, sessions started.
    Synced {
        messages: u64,
        bytes: u64,
        sessions: u32,
    },
    /// Totals since the replica started.
    Stats {
        /// Changes applied, in sessions it started and in those it answered.
        changes_applied: u64,
        /// Peers whose session failed and were dropped.
        peers_dropped: u64,
        /// Messages its faults lost and reordered.
        lost: u64,
        reordered: u64,
    },
    /// Per document, in order.
    Digests { digests: Vec<Option<u64>> },
    /// The check's problems (none: sound), and the histograms as (nanoseconds, count).
    Finished {
        problems: Vec<String>,
        local_write: Vec<(u64, u64)>,
        apply_per_change: Vec<(u64, u64)>,
    },
    /// The command failed; the replica goes on.
    Failed { error: String },
}
