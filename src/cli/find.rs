//! `zarrscope find`.

use super::FindArgs;
use crate::error::{Error, Result};

pub(super) async fn find(args: FindArgs) -> Result<u8> {
    let _ = args;
    Err(Error::new("find is not built yet"))
}
