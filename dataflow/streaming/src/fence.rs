//! Fencing: the cluster runs under a generation taken from Cassandra at start (a lightweight
//! transaction, so every incarnation gets a generation of its own). Before a worker commits
//! offsets or writes an epoch's rows, its process checks, with a linearizable read, that no
//! newer incarnation has taken over; once one has, the process stops without committing or
//! writing anything more.

use pricestream_cassandra::{CassandraError, GenerationTable};
use pricestream_runtime::fault::{Outages, Patience, wait_out_for};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

/// A newer incarnation took over.
#[derive(Debug, thiserror::Error)]
pub enum FenceError {
    /// The stored generation is newer than this cluster's.
    #[error(
        "fenced: a newer incarnation of consumer group `{group}` took over (generation {stored}, this process runs under {ours}); stopping without committing or writing"
    )]
    Fenced {
        /// The consumer group.
        group: String,
        /// The generation stored now.
        stored: i64,
        /// This cluster's generation.
        ours: i64,
    },
    /// Cassandra could not be asked (not an outage: an error waiting cannot fix).
    #[error("cannot read the fencing generation: {0}")]
    Cassandra(#[from] Box<CassandraError>),
}

/// The generation of this cluster and the checks against it.
pub struct Fence {
    table: GenerationTable,
    group: String,
    generation: AtomicI64,
    /// The last epoch a check covered: every worker of the process in that epoch may rely on it.
    checked_epoch: tokio::sync::Mutex<u64>,
}

impl Fence {
    /// A fence for consumer group `group`.
    pub fn new(table: GenerationTable, group: &str) -> Self {
        Fence {
            table,
            group: group.to_owned(),
            generation: AtomicI64::new(0),
            checked_epoch: tokio::sync::Mutex::new(0),
        }
    }

    /// Takes the next generation (worker 0 at start), waiting out a Cassandra outage.
    pub async fn claim(
        &self,
        claimed_by: &str,
        outages: &Outages,
        stop: &AtomicBool,
    ) -> Result<i64, FenceError> {
        let patience = Patience::Forever { stop: Some(stop) };
        let generation =
            wait_out_for(outages, "claim generation", patience, || self.table.claim(&self.group, claimed_by))
                .await
                .map_err(Box::new)?;
        Ok(generation)
    }

    /// The generation this cluster runs under, announced by worker 0.
    pub fn adopt(&self, generation: i64) {
        self.generation.store(generation, Ordering::SeqCst);
    }

    /// The generation this cluster runs under (0 before it is known).
    pub fn generation(&self) -> i64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Checks that no newer incarnation took over, at most once per epoch per process.
    pub async fn check(&self, epoch: u64, outages: &Outages, stop: &AtomicBool) -> Result<(), FenceError> {
        let mut checked = self.checked_epoch.lock().await;
        if *checked >= epoch {
            return Ok(());
        }
        let patience = Patience::Forever { stop: Some(stop) };
        let stored = wait_out_for(outages, "check generation", patience, || self.table.current(&self.group))
            .await
            .map_err(Box::new)?;
        let ours = self.generation();
        match stored {
            Some(stored) if stored != ours => {
                Err(FenceError::Fenced { group: self.group.clone(), stored, ours })
            }
            _ => {
                *checked = epoch;
                Ok(())
            }
        }
    }
}
