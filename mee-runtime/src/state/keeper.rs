//! [`LeaseKeeper`]: holds one lease on a pipeline index for as long as a process works on it,
//! renewing it in the background, and hands the holder the pipeline state it read on each renewal
//! (so that a follower sees a new generation appear without polling the state itself).

use super::error::StateError;
use super::lease::{LEASE_RENEW, LeaseOwner};
use super::model::{LeaseRole, PipelineKey, PipelineState};
use super::store::StateStore;
use super::time::Timestamp;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the latest renewal found.
#[derive(Clone, Debug)]
pub enum LeaseView {
    /// The lease is held; the pipeline state as of the renewal.
    Held(Box<PipelineState>),
    /// Another process took the lease (this one was presumed dead): stop working on the index.
    Lost(StateError),
}

/// A held lease, renewed every [`LEASE_RENEW`] until [`LeaseKeeper::release`] (or drop).
pub struct LeaseKeeper {
    store: StateStore,
    key: PipelineKey,
    role: LeaseRole,
    owner: LeaseOwner,
    view: watch::Receiver<LeaseView>,
    renewer: JoinHandle<()>,
}

impl LeaseKeeper {
    /// Takes the `role` lease of `key` for `owner` (creating the pipeline state if there is none),
    /// refused with [`StateError::Held`] while another live process holds it. `change` is applied
    /// in the same state write (e.g. recording the generation a full update starts).
    pub async fn claim(
        store: &StateStore,
        key: &PipelineKey,
        role: LeaseRole,
        owner: LeaseOwner,
        mut change: impl FnMut(&mut PipelineState) -> Result<(), StateError>,
    ) -> Result<(LeaseKeeper, PipelineState), StateError> {
        let (state, ()) = store
            .upsert::<PipelineState, (), StateError, _, _>(
                key,
                || PipelineState::new(key, Timestamp::now()),
                |s| {
                    s.claim(role, &owner, Timestamp::now())?;
                    change(s)
                },
            )
            .await?;
        let (tx, view) = watch::channel(LeaseView::Held(Box::new(state.doc.clone())));
        let renewer = tokio::spawn(renew(store.clone(), key.clone(), role, owner.clone(), tx));
        let keeper = LeaseKeeper {
            store: store.clone(),
            key: key.clone(),
            role,
            owner,
            view,
            renewer,
        };
        Ok((keeper, state.doc))
    }

    pub fn owner(&self) -> &LeaseOwner {
        &self.owner
    }

    /// The latest view, and whether it changed since the last call.
    pub fn latest(&mut self) -> (LeaseView, bool) {
        let changed = self.view.has_changed().unwrap_or(false);
        (self.view.borrow_and_update().clone(), changed)
    }

    /// Stops renewing and gives the lease up (best effort: an unreleased lease expires, and a
    /// restarted process on this host takes it over at once). The owner stays alive: retire it
    /// when it holds nothing else.
    pub async fn release(self) {
        self.renewer.abort();
        let (role, owner) = (self.role, self.owner.clone());
        let released = self
            .store
            .update::<PipelineState, (), StateError, _>(&self.key, |s| {
                s.release(role, &owner);
                Ok(())
            })
            .await;
        if let Err(e) = released {
            tracing::warn!(error = %e, "could not release the lease; it expires on its own");
        }
    }
}

impl Drop for LeaseKeeper {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

async fn renew(
    store: StateStore,
    key: PipelineKey,
    role: LeaseRole,
    owner: LeaseOwner,
    tx: watch::Sender<LeaseView>,
) {
    let mut tick = tokio::time::interval(LEASE_RENEW);
    tick.tick().await; // The first tick is immediate; the claim just renewed.
    loop {
        tick.tick().await;
        let renewed = store
            .update::<PipelineState, (), StateError, _>(&key, |s| {
                s.claim(role, &owner, Timestamp::now())
            })
            .await;
        let view = match renewed {
            Ok((state, ())) => LeaseView::Held(Box::new(state.doc)),
            Err(e @ StateError::Held { .. }) => LeaseView::Lost(e),
            Err(e) => {
                // Elasticsearch unreachable for a moment: the lease stays ours until its TTL,
                // and the next tick tries again.
                tracing::warn!(error = %e, "could not renew the lease; retrying");
                continue;
            }
        };
        let lost = matches!(view, LeaseView::Lost(_));
        if tx.send(view).is_err() || lost {
            return;
        }
    }
}
