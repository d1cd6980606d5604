//! `zarrscope catalog`.

use super::CatalogArgs;
use crate::error::{Error, Result};

pub(super) async fn catalog(args: CatalogArgs) -> Result<u8> {
    let _ = args;
    Err(Error::new("catalog is not built yet"))
}
