//! Stand-in (a helper is writing the real one).
use std::future::Future;
use std::sync::Arc;

use super::model::TargetUse;
use crate::location::Location;
use crate::store::StoreHandle;

pub struct VerifyOptions {
    pub concurrency: usize,
    pub max_requests: u64,
    pub progress: bool,
}
pub enum TargetState {
    Ok { size: u64 },
    Missing,
    Unreadable(String),
    Short { size: u64, needed: u64 },
    NotChecked,
}
pub struct TargetCheck {
    pub url: String,
    pub uses: TargetUse,
    pub state: TargetState,
}
pub async fn verify<F, Fut>(
    targets: Vec<(String, TargetUse)>,
    _open: F,
    _options: &VerifyOptions,
) -> Vec<TargetCheck>
where
    F: Fn(Location) -> Fut,
    Fut: Future<Output = crate::error::Result<Arc<StoreHandle>>>,
{
    targets
        .into_iter()
        .map(|(url, uses)| TargetCheck {
            url,
            uses,
            state: TargetState::NotChecked,
        })
        .collect()
}
pub fn broken(checks: &[TargetCheck]) -> usize {
    checks
        .iter()
        .filter(|c| {
            matches!(
                c.state,
                TargetState::Missing | TargetState::Unreadable(_) | TargetState::Short { .. }
            )
        })
        .count()
}
